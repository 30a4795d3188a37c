DROP INDEX workspaces_running;
ALTER TABLE environments DROP COLUMN idle_stop_minutes;

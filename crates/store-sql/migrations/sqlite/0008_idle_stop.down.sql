ALTER TABLE environments DROP COLUMN idle_stop_minutes;

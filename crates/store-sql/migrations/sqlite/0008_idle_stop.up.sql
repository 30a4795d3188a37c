-- Minutes without an open terminal, terminal input or a session at work after which the
-- server stops an environment's workspaces; 0 never stops them.
ALTER TABLE environments ADD COLUMN idle_stop_minutes INTEGER NOT NULL DEFAULT 60
    CHECK (idle_stop_minutes BETWEEN 0 AND 10080);

-- The background checks of running workspaces (idle stop, disk watch) read only those.
CREATE INDEX workspaces_running ON workspaces (created_at, id) WHERE status = 'running';

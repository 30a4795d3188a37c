-- Minutes without an open terminal, terminal input or a session at work after which the
-- server stops an environment's workspaces; 0 never stops them.
ALTER TABLE environments ADD COLUMN idle_stop_minutes BIGINT NOT NULL DEFAULT 60
    CHECK (idle_stop_minutes BETWEEN 0 AND 10080);

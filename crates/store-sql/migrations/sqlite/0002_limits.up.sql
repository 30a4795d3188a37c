-- An admin's overrides of the server's default limits, one row per user that has any;
-- NULL keeps the default. Usage itself is counted from the rows it is about.

CREATE TABLE user_limits (
    user_id               TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    environments          INTEGER CHECK (environments >= 0),
    running_workspaces    INTEGER CHECK (running_workspaces >= 0),
    sessions              INTEGER CHECK (sessions >= 0),
    terminals             INTEGER CHECK (terminals >= 0),
    deployments_in_flight INTEGER CHECK (deployments_in_flight >= 0),
    updated_at            TEXT NOT NULL
);

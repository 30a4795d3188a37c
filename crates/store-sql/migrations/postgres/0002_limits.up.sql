-- An admin's overrides of the server's default limits, one row per user that has any;
-- NULL keeps the default. Usage itself is counted from the rows it is about.

CREATE TABLE user_limits (
    user_id               UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    environments          BIGINT CHECK (environments >= 0),
    running_workspaces    BIGINT CHECK (running_workspaces >= 0),
    sessions              BIGINT CHECK (sessions >= 0),
    terminals             BIGINT CHECK (terminals >= 0),
    deployments_in_flight BIGINT CHECK (deployments_in_flight >= 0),
    updated_at            TIMESTAMPTZ NOT NULL
);

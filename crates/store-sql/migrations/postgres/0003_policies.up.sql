-- What an environment's workspaces may reach (egress), and which Coolify applications an
-- admin has allowed it to deploy. `egress_hosts` is used only with mode 'allowlist'.

ALTER TABLE environments
    ADD COLUMN egress_mode TEXT NOT NULL DEFAULT 'open'
        CONSTRAINT environments_egress_mode_check
        CHECK (egress_mode IN ('open', 'none', 'allowlist')),
    ADD COLUMN egress_hosts TEXT[] NOT NULL DEFAULT '{}';

CREATE TABLE deployment_bindings (
    environment_id   UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    application_uuid TEXT NOT NULL,
    created_by       UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (environment_id, application_uuid)
);
CREATE INDEX deployment_bindings_created_by ON deployment_bindings (created_by);

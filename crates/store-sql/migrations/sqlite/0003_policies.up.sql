-- What an environment's workspaces may reach (egress), and which Coolify applications an
-- admin has allowed it to deploy. `egress_hosts` is a JSON array of host names, used only
-- with mode 'allowlist'.

ALTER TABLE environments ADD COLUMN egress_mode TEXT NOT NULL DEFAULT 'open'
    CHECK (egress_mode IN ('open', 'none', 'allowlist'));
ALTER TABLE environments ADD COLUMN egress_hosts TEXT NOT NULL DEFAULT '[]';

CREATE TABLE deployment_bindings (
    environment_id   TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    application_uuid TEXT NOT NULL,
    created_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (environment_id, application_uuid)
);
CREATE INDEX deployment_bindings_created_by ON deployment_bindings (created_by);

-- The whole schema of ARCHITECTURE.md. Ids are UUID text, times RFC 3339 UTC text with a
-- fixed width (so that they sort), secrets are sealed text `<key id>.<ciphertext>`.

CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    is_admin        INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    github_user_id  INTEGER,
    github_username TEXT,
    github_token    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    token_hash  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

CREATE TABLE environments (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    repository_url TEXT,
    branch         TEXT NOT NULL,
    status         TEXT NOT NULL
        CHECK (status IN ('creating', 'running', 'stopped', 'error', 'deleting')),
    error          TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CONSTRAINT environments_user_id_name_key UNIQUE (user_id, name)
);

CREATE TABLE workspaces (
    id             TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    branch         TEXT NOT NULL,
    container_id   TEXT,
    status         TEXT NOT NULL
        CHECK (status IN ('creating', 'running', 'stopped', 'missing', 'error')),
    error          TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CONSTRAINT workspaces_environment_id_branch_key UNIQUE (environment_id, branch)
);

CREATE TABLE agents (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    agent_type TEXT NOT NULL
        CHECK (agent_type IN ('claude-code', 'gemini-cli', 'qwen-coder', 'cursor-cli')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT agents_user_id_name_key UNIQUE (user_id, name)
);

CREATE TABLE agent_credentials (
    agent_id        TEXT PRIMARY KEY NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    credential_type TEXT NOT NULL,
    sealed_value    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    environment_id    TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    workspace_id      TEXT REFERENCES workspaces (id) ON DELETE SET NULL,
    name              TEXT NOT NULL,
    tmux_session_name TEXT NOT NULL,
    working_directory TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'dead')),
    session_type      TEXT NOT NULL CHECK (session_type IN ('terminal', 'agent')),
    agent_id          TEXT REFERENCES agents (id) ON DELETE SET NULL,
    git_branch        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_activity     TEXT,
    CONSTRAINT sessions_environment_id_name_key UNIQUE (environment_id, name),
    CONSTRAINT sessions_tmux_session_name_key UNIQUE (tmux_session_name)
);
CREATE INDEX sessions_workspace_id ON sessions (workspace_id);

CREATE TABLE deployments (
    id                    TEXT PRIMARY KEY NOT NULL,
    environment_id        TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    app_id                TEXT NOT NULL,
    branch                TEXT,
    status                TEXT NOT NULL,
    coolify_deployment_id TEXT,
    metadata              TEXT NOT NULL DEFAULT '{}',
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX deployments_environment_id ON deployments (environment_id);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    at      TEXT NOT NULL
);
CREATE INDEX audit_log_user_id ON audit_log (user_id, id);

CREATE TABLE encryption_canaries (
    key_id     TEXT PRIMARY KEY NOT NULL,
    sealed     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

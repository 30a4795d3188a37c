-- Codex and OpenCode agents. SQLite cannot change a CHECK, so the table is made again.
-- Migrations run in a transaction, where foreign keys cannot be turned off: dropping the
-- table deletes its credentials and clears the sessions' agent, so both are kept aside
-- first and put back.
CREATE TABLE agents_0006 AS SELECT * FROM agents;
CREATE TABLE agent_credentials_0006 AS
    SELECT * FROM agent_credentials WHERE agent_id IN (SELECT id FROM agents_0006);
CREATE TABLE session_agents_0006 AS
    SELECT id, agent_id FROM sessions WHERE agent_id IN (SELECT id FROM agents_0006);
DROP TABLE agents;
CREATE TABLE agents (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    agent_type TEXT NOT NULL
        CHECK (agent_type IN ('claude-code', 'gemini-cli', 'qwen-coder', 'cursor-cli', 'codex', 'opencode')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT agents_user_id_name_key UNIQUE (user_id, name)
);
INSERT INTO agents (id, user_id, name, agent_type, created_at, updated_at)
    SELECT id, user_id, name, agent_type, created_at, updated_at FROM agents_0006;
INSERT INTO agent_credentials (agent_id, credential_type, sealed_value, created_at, updated_at)
    SELECT agent_id, credential_type, sealed_value, created_at, updated_at
    FROM agent_credentials_0006;
UPDATE sessions
    SET agent_id = (SELECT s.agent_id FROM session_agents_0006 s WHERE s.id = sessions.id)
    WHERE id IN (SELECT id FROM session_agents_0006);
DROP TABLE session_agents_0006;
DROP TABLE agent_credentials_0006;
DROP TABLE agents_0006;

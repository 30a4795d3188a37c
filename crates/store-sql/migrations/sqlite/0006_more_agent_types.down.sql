-- Back to four agent types: Codex and OpenCode agents go, with their credentials, and
-- their sessions keep running without an agent (as when an agent is deleted). The table is
-- made again as in the up migration.
CREATE TABLE agents_0006 AS SELECT * FROM agents WHERE agent_type NOT IN ('codex', 'opencode');
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
        CHECK (agent_type IN ('claude-code', 'gemini-cli', 'qwen-coder', 'cursor-cli')),
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

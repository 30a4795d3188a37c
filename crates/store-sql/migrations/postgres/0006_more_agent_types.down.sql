-- Back to four agent types: Codex and OpenCode agents go, with their credentials, and
-- their sessions keep running without an agent (as when an agent is deleted).
DELETE FROM agents WHERE agent_type IN ('codex', 'opencode');
ALTER TABLE agents DROP CONSTRAINT agents_agent_type_check;
ALTER TABLE agents ADD CONSTRAINT agents_agent_type_check
    CHECK (agent_type IN ('claude-code', 'gemini-cli', 'qwen-coder', 'cursor-cli'));

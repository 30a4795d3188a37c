-- Codex and OpenCode agents.
ALTER TABLE agents DROP CONSTRAINT agents_agent_type_check;
ALTER TABLE agents ADD CONSTRAINT agents_agent_type_check
    CHECK (agent_type IN ('claude-code', 'gemini-cli', 'qwen-coder', 'cursor-cli', 'codex', 'opencode'));

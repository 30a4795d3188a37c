-- Every list answers from an index on its owner or parent, so that its cost grows with the
-- owner's rows only (the unique keys already index workspaces and sessions by environment).

-- A user's environments, in the order they are listed.
CREATE INDEX environments_user_id_created ON environments (user_id, created_at, id);
-- Deleting an agent clears it from the sessions that ran it.
CREATE INDEX sessions_agent_id ON sessions (agent_id);
-- The deployments still followed after a restart, however many have ended.
CREATE INDEX deployments_unfinished ON deployments (created_at, id)
    WHERE status IN ('queued', 'in_progress');
-- The admin's page of users.
CREATE INDEX users_created ON users (created_at, id);

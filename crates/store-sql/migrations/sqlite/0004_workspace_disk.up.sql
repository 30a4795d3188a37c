-- The last measurement of each workspace's disk use (worktree volume, writable layer and
-- repository), with the cap that applied to it; NULL until the first one.
ALTER TABLE workspaces ADD COLUMN disk_bytes BIGINT;
ALTER TABLE workspaces ADD COLUMN disk_limit_bytes BIGINT;
ALTER TABLE workspaces ADD COLUMN disk_measured_at TEXT;

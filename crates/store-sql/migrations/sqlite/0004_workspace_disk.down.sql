ALTER TABLE workspaces DROP COLUMN disk_measured_at;
ALTER TABLE workspaces DROP COLUMN disk_limit_bytes;
ALTER TABLE workspaces DROP COLUMN disk_bytes;

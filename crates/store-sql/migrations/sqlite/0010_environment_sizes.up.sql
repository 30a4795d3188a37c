-- The memory (bytes), CPUs (billionths) and disk cap (bytes) of an environment's
-- workspaces; NULL takes the server's default (SANDBOX_MEMORY_LIMIT, SANDBOX_CPU_LIMIT,
-- SANDBOX_DISK_LIMIT).
ALTER TABLE environments ADD COLUMN memory_bytes INTEGER CHECK (memory_bytes > 0);
ALTER TABLE environments ADD COLUMN nano_cpus INTEGER CHECK (nano_cpus > 0);
ALTER TABLE environments ADD COLUMN disk_bytes INTEGER CHECK (disk_bytes > 0);

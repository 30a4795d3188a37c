ALTER TABLE environments DROP COLUMN disk_bytes;
ALTER TABLE environments DROP COLUMN nano_cpus;
ALTER TABLE environments DROP COLUMN memory_bytes;

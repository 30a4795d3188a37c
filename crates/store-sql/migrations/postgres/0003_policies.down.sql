DROP TABLE deployment_bindings;
ALTER TABLE environments DROP COLUMN egress_hosts, DROP COLUMN egress_mode;

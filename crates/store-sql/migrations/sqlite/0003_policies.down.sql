DROP TABLE deployment_bindings;
ALTER TABLE environments DROP COLUMN egress_hosts;
ALTER TABLE environments DROP COLUMN egress_mode;

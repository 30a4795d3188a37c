ALTER TABLE sessions DROP COLUMN variables_version;
ALTER TABLE environments DROP COLUMN variables_version;
DROP TABLE environment_variables;

DROP INDEX users_created;
DROP INDEX deployments_unfinished;
DROP INDEX sessions_agent_id;
DROP INDEX environments_user_id_created;

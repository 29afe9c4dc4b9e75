ALTER TABLE sandboxes DROP COLUMN agent_version;

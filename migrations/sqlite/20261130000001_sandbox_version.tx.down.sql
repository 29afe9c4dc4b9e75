ALTER TABLE sandboxes DROP COLUMN version;

DROP INDEX sandboxes_status_updated_at_idx;
--bun:split
DROP INDEX jobs_status_updated_at_idx;
--bun:split
ALTER TABLE users DROP COLUMN quota;
--bun:split
ALTER TABLE users DROP COLUMN deleting;
--bun:split
ALTER TABLE users DROP COLUMN disabled_at;

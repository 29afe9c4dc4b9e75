-- Account lifecycle and quotas: users can be disabled, marked for deletion
-- and given a quota that overrides the server's (JSON, {} = none). Finished
-- jobs lose the sandbox's SSH secret their payload carried.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
--bun:split
ALTER TABLE users ADD COLUMN deleting BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE users ADD COLUMN quota TEXT NOT NULL DEFAULT '{}';
--bun:split
UPDATE jobs SET payload = json_remove(payload, '$.ssh_secret')
WHERE status IN ('done', 'failed') AND payload IS NOT NULL AND json_type(payload, '$.ssh_secret') IS NOT NULL;
--bun:split
CREATE INDEX jobs_status_updated_at_idx ON jobs (status, updated_at);
--bun:split
CREATE INDEX sandboxes_status_updated_at_idx ON sandboxes (status, updated_at);

-- Account lifecycle and quotas: users can be disabled, marked for deletion
-- and given a quota that overrides the server's (jsonb, {} = none). Finished
-- jobs lose the sandbox's SSH secret their payload carried.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
--bun:split
ALTER TABLE users ADD COLUMN deleting boolean NOT NULL DEFAULT false;
--bun:split
ALTER TABLE users ADD COLUMN quota jsonb NOT NULL DEFAULT '{}';
--bun:split
UPDATE jobs SET payload = payload - 'ssh_secret'
WHERE status IN ('done', 'failed') AND payload->'ssh_secret' IS NOT NULL;
--bun:split
CREATE INDEX jobs_status_updated_at_idx ON jobs (status, updated_at);
--bun:split
CREATE INDEX sandboxes_status_updated_at_idx ON sandboxes (status, updated_at);

ALTER TABLE runners DROP COLUMN workspaces;
--bun:split
DROP INDEX webhook_endpoints_workspace_id_idx;
--bun:split
ALTER TABLE webhook_endpoints DROP COLUMN workspace_id;
--bun:split
ALTER TABLE api_keys DROP COLUMN read_only;
--bun:split
ALTER TABLE api_keys DROP COLUMN workspace_id;
--bun:split
DROP INDEX sandboxes_workspace_id_created_at_id_idx;
--bun:split
DROP INDEX sandboxes_workspace_id_name_key;
--bun:split
ALTER TABLE sandboxes DROP COLUMN workspace_id;
--bun:split
CREATE UNIQUE INDEX sandboxes_owner_id_name_key ON sandboxes (owner_id, name) WHERE status <> 'deleted';
--bun:split
DROP TABLE workspace_members;
--bun:split
DROP TABLE workspaces;

-- Workspaces (docs/workspaces.md): a workspace owns sandboxes, API keys and
-- webhook endpoints; users are members with a role. Every user has a
-- personal workspace, id 'ws_' || user id, named after their email; this
-- migration makes one for every existing user and moves their sandboxes,
-- keys and endpoints into it.
CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    personal   BOOLEAN NOT NULL DEFAULT FALSE,
    owner_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX workspaces_name_key ON workspaces (name);
--bun:split
CREATE INDEX workspaces_created_at_id_idx ON workspaces (created_at, id);
--bun:split
CREATE TABLE workspace_members (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
--bun:split
CREATE INDEX workspace_members_user_id_idx ON workspace_members (user_id, workspace_id);
--bun:split
INSERT INTO workspaces (id, name, personal, owner_id, created_at)
SELECT 'ws_' || id, email, TRUE, id, created_at FROM users;
--bun:split
INSERT INTO workspace_members (workspace_id, user_id, role, created_at)
SELECT 'ws_' || id, id, 'owner', created_at FROM users;
--bun:split
ALTER TABLE sandboxes ADD COLUMN workspace_id TEXT NOT NULL DEFAULT '';
--bun:split
UPDATE sandboxes SET workspace_id = 'ws_' || owner_id;
--bun:split
DROP INDEX sandboxes_owner_id_name_key;
--bun:split
CREATE UNIQUE INDEX sandboxes_workspace_id_name_key ON sandboxes (workspace_id, name) WHERE status <> 'deleted';
--bun:split
CREATE INDEX sandboxes_workspace_id_created_at_id_idx ON sandboxes (workspace_id, created_at, id);
--bun:split
-- A key with a workspace acts only in it; NULL: a sign-in key (login, web
-- session, the bootstrap admin key) that acts in the workspace the request
-- names (Codepod-Workspace header), by default the personal one.
ALTER TABLE api_keys ADD COLUMN workspace_id TEXT;
--bun:split
ALTER TABLE api_keys ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
UPDATE api_keys SET workspace_id = 'ws_' || user_id WHERE name NOT IN ('login', 'web session', 'admin');
--bun:split
ALTER TABLE webhook_endpoints ADD COLUMN workspace_id TEXT NOT NULL DEFAULT '';
--bun:split
UPDATE webhook_endpoints SET workspace_id = 'ws_' || owner_id;
--bun:split
CREATE INDEX webhook_endpoints_workspace_id_idx ON webhook_endpoints (workspace_id, created_at, id);
--bun:split
-- Placement rights: a runner with an empty list serves every workspace,
-- otherwise only those listed (a JSON array of workspace ids).
ALTER TABLE runners ADD COLUMN workspaces jsonb NOT NULL DEFAULT '[]';

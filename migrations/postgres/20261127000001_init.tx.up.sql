-- CodePod's first schema (PostgreSQL). Timestamps are timestamptz (UTC);
-- JSON is jsonb.
CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    password_hash text NOT NULL DEFAULT '',
    admin         boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);
--bun:split
CREATE UNIQUE INDEX users_email_key ON users (email);
--bun:split
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
--bun:split
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL,
    hash         bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz
);
--bun:split
CREATE INDEX api_keys_user_id_created_at_id_idx ON api_keys (user_id, created_at, id);
--bun:split
CREATE INDEX api_keys_created_at_id_idx ON api_keys (created_at, id);
--bun:split
CREATE TABLE runner_tokens (
    id         text PRIMARY KEY,
    prefix     text NOT NULL,
    hash       bytea NOT NULL,
    created_by text REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz
);
--bun:split
CREATE INDEX runner_tokens_created_at_id_idx ON runner_tokens (created_at, id);
--bun:split
CREATE TABLE ssh_keys (
    id          text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    public_key  text NOT NULL,
    fingerprint text NOT NULL,
    created_at  timestamptz NOT NULL
);
--bun:split
CREATE UNIQUE INDEX ssh_keys_user_id_fingerprint_key ON ssh_keys (user_id, fingerprint);
--bun:split
CREATE TABLE runners (
    id                 text PRIMARY KEY,
    name               text NOT NULL,
    labels             jsonb NOT NULL DEFAULT '{}',
    capacity_sandboxes integer NOT NULL DEFAULT 0,
    capacity_memory    bigint NOT NULL DEFAULT 0,
    version            text NOT NULL DEFAULT '',
    secret_hash        bytea,
    status             text NOT NULL,
    last_seen_at       timestamptz NOT NULL,
    created_at         timestamptz NOT NULL
);
--bun:split
CREATE INDEX runners_created_at_id_idx ON runners (created_at, id);
--bun:split
CREATE INDEX runners_status_last_seen_at_idx ON runners (status, last_seen_at);
--bun:split
CREATE TABLE sandboxes (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    owner_id             text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    runner_id            text REFERENCES runners (id) ON DELETE SET NULL,
    spec                 jsonb NOT NULL,
    memory_bytes         bigint NOT NULL DEFAULT 0,
    status               text NOT NULL,
    reason               text NOT NULL DEFAULT '',
    host_key_fingerprint text NOT NULL DEFAULT '',
    ssh_secret           bytea,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    expires_at           timestamptz
);
--bun:split
CREATE UNIQUE INDEX sandboxes_owner_id_name_key ON sandboxes (owner_id, name) WHERE status <> 'deleted';
--bun:split
CREATE INDEX sandboxes_owner_id_created_at_id_idx ON sandboxes (owner_id, created_at, id);
--bun:split
CREATE INDEX sandboxes_created_at_id_idx ON sandboxes (created_at, id);
--bun:split
CREATE INDEX sandboxes_runner_id_status_idx ON sandboxes (runner_id, status);
--bun:split
CREATE INDEX sandboxes_expires_at_idx ON sandboxes (expires_at) WHERE expires_at IS NOT NULL;
--bun:split
CREATE TABLE jobs (
    id               text PRIMARY KEY,
    kind             text NOT NULL,
    sandbox_id       text REFERENCES sandboxes (id) ON DELETE CASCADE,
    runner_id        text REFERENCES runners (id) ON DELETE CASCADE,
    payload          jsonb,
    status           text NOT NULL,
    lease_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    error            text NOT NULL DEFAULT '',
    result           jsonb,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
--bun:split
CREATE INDEX jobs_runner_id_status_created_at_id_idx ON jobs (runner_id, status, created_at, id);
--bun:split
CREATE INDEX jobs_sandbox_id_status_idx ON jobs (sandbox_id, status);

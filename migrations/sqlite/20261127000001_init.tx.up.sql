-- CodePod's first schema (SQLite). Timestamps are UTC text in bun's format
-- ("2006-01-02 15:04:05.999999+00:00"), which sorts in time order; JSON is text.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    admin         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX users_email_key ON users (email);
--bun:split
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
--bun:split
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL,
    hash         BLOB NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at   TIMESTAMP
);
--bun:split
CREATE INDEX api_keys_user_id_created_at_id_idx ON api_keys (user_id, created_at, id);
--bun:split
CREATE INDEX api_keys_created_at_id_idx ON api_keys (created_at, id);
--bun:split
CREATE TABLE runner_tokens (
    id         TEXT PRIMARY KEY,
    prefix     TEXT NOT NULL,
    hash       BLOB NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP
);
--bun:split
CREATE INDEX runner_tokens_created_at_id_idx ON runner_tokens (created_at, id);
--bun:split
CREATE TABLE ssh_keys (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL DEFAULT '',
    public_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX ssh_keys_user_id_fingerprint_key ON ssh_keys (user_id, fingerprint);
--bun:split
CREATE TABLE runners (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    labels             TEXT NOT NULL DEFAULT '{}',
    capacity_sandboxes INTEGER NOT NULL DEFAULT 0,
    capacity_memory    INTEGER NOT NULL DEFAULT 0,
    version            TEXT NOT NULL DEFAULT '',
    secret_hash        BLOB,
    status             TEXT NOT NULL,
    last_seen_at       TIMESTAMP NOT NULL,
    created_at         TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX runners_created_at_id_idx ON runners (created_at, id);
--bun:split
CREATE INDEX runners_status_last_seen_at_idx ON runners (status, last_seen_at);
--bun:split
CREATE TABLE sandboxes (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    owner_id             TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    runner_id            TEXT REFERENCES runners (id) ON DELETE SET NULL,
    spec                 TEXT NOT NULL,
    memory_bytes         INTEGER NOT NULL DEFAULT 0,
    status               TEXT NOT NULL,
    reason               TEXT NOT NULL DEFAULT '',
    host_key_fingerprint TEXT NOT NULL DEFAULT '',
    ssh_secret           BLOB,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    expires_at           TIMESTAMP
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
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    sandbox_id       TEXT REFERENCES sandboxes (id) ON DELETE CASCADE,
    runner_id        TEXT REFERENCES runners (id) ON DELETE CASCADE,
    payload          TEXT,
    status           TEXT NOT NULL,
    lease_expires_at TIMESTAMP,
    attempts         INTEGER NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    result           TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX jobs_runner_id_status_created_at_id_idx ON jobs (runner_id, status, created_at, id);
--bun:split
CREATE INDEX jobs_sandbox_id_status_idx ON jobs (sandbox_id, status);

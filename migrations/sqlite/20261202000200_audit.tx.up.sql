-- The audit log (docs/audit.md): one row per state-changing API call or
-- session opened into a sandbox, written in the transaction of the change.
-- Rows are only appended (and pruned from the oldest by retention); each
-- row's hash covers its fields and the previous row's hash.
CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY,
    time          TIMESTAMP NOT NULL,
    actor_user_id TEXT NOT NULL DEFAULT '',
    actor_key_id  TEXT NOT NULL DEFAULT '',
    workspace_id  TEXT NOT NULL DEFAULT '',
    client_addr   TEXT NOT NULL DEFAULT '',
    request_id    TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    target_type   TEXT NOT NULL DEFAULT '',
    target_id     TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
--bun:split
CREATE INDEX audit_events_time_idx ON audit_events (time);
--bun:split
CREATE INDEX audit_events_workspace_idx ON audit_events (workspace_id, seq);
--bun:split
-- The chain's head (one row): appends lock it, so the chain never forks
-- across replicas; the anchor is the last entry retention deleted.
CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    anchor_seq  BIGINT NOT NULL,
    anchor_hash TEXT NOT NULL
);
--bun:split
INSERT INTO audit_head (id, seq, hash, anchor_seq, anchor_hash) VALUES (1, 0, '', 0, '');

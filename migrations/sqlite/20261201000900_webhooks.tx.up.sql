-- Webhooks (docs/webhooks.md): a user's endpoints, the events written in
-- the transaction of the change they report (the outbox), and one delivery
-- per event and subscribed endpoint, leased by one server replica at a time.
CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    owner_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    events           TEXT NOT NULL DEFAULT '[]',
    secret           TEXT NOT NULL,
    previous_secret  TEXT NOT NULL DEFAULT '',
    previous_until   TIMESTAMP,
    disabled         BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason  TEXT NOT NULL DEFAULT '',
    failure_streak   INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_id, created_at, id);
--bun:split
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    sandbox_id  TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);
--bun:split
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    sandbox_id       TEXT NOT NULL DEFAULT '',
    sandbox_version  INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    lease_until      TIMESTAMP,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    last_latency_us  INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
--bun:split
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, sandbox_id, status, sandbox_version);
--bun:split
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

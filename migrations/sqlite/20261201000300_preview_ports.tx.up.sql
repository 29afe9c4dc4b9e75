-- Ports a sandbox's owner opened for the preview proxy
-- (/api/v1/sandboxes/{id}/ports/{port}/…). Each opening has its own random
-- secret that signs the port's preview links: closing the port (or deleting
-- the sandbox) deletes the row and with it every link ever minted for it.
CREATE TABLE sandbox_ports (
    sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    port       INTEGER NOT NULL,
    public     BOOLEAN NOT NULL DEFAULT FALSE,
    label      TEXT NOT NULL DEFAULT '',
    secret     BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sandbox_id, port)
);
--bun:split
-- idle_at: when a sandbox with an idle timeout becomes idle unless something
-- happens before (moved forward by sessions, preview traffic and running
-- processes); NULL without an idle timeout.
ALTER TABLE sandboxes ADD COLUMN idle_at TIMESTAMP;
--bun:split
CREATE INDEX sandboxes_idle_at_idx ON sandboxes (idle_at) WHERE idle_at IS NOT NULL;

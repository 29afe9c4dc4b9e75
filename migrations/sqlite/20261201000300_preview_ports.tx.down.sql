DROP INDEX sandboxes_idle_at_idx;
--bun:split
ALTER TABLE sandboxes DROP COLUMN idle_at;
--bun:split
DROP TABLE sandbox_ports;

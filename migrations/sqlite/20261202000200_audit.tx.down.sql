DROP TABLE audit_head;
--bun:split
DROP TABLE audit_events;

-- Every change of a sandbox's status is a conditional write on its version
-- (codepod.Transition, then UPDATE ... WHERE id = ? AND version = ?).
ALTER TABLE sandboxes ADD COLUMN version bigint NOT NULL DEFAULT 1;

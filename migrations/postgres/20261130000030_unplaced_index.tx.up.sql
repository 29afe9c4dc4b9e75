-- Placement looks for pending sandboxes on no runner at every poll: a
-- partial index keeps that lookup to the rows it wants, however many
-- sandboxes are placed or running.
CREATE INDEX sandboxes_unplaced_idx ON sandboxes (created_at, id) WHERE status = 'pending' AND runner_id IS NULL;

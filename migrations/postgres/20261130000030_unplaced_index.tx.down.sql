DROP INDEX sandboxes_unplaced_idx;

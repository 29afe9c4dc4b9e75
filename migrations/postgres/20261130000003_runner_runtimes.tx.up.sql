-- The sandbox runtimes a runner's engine has (["runc","gvisor"]), from its
-- registration and every poll; placement puts a sandbox only on a runner
-- that has its runtime. Runners from before this migration have runc.
ALTER TABLE runners ADD COLUMN runtimes jsonb NOT NULL DEFAULT '["runc"]';

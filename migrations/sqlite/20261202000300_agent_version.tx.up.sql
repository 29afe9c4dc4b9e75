-- agent_version: the build version of the sandbox's agent, as its runner
-- last reported it (read from the agent's SSH banner); '' until reported.
ALTER TABLE sandboxes ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';

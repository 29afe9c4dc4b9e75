DROP TABLE jobs;
--bun:split
DROP TABLE sandboxes;
--bun:split
DROP TABLE runners;
--bun:split
DROP TABLE ssh_keys;
--bun:split
DROP TABLE runner_tokens;
--bun:split
DROP TABLE api_keys;
--bun:split
DROP TABLE users;

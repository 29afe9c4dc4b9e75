-- A runner's warm pools (image and shape, size, ready now), replaced by
-- each of its polls; placement prefers a runner with a ready match and
-- counts one as taken in the create's transaction.
CREATE TABLE runner_warm_pools (
    runner_id    TEXT NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
    pool_key     TEXT NOT NULL,
    image        TEXT NOT NULL,
    cpu          REAL NOT NULL,
    memory_bytes INTEGER NOT NULL,
    network      TEXT NOT NULL,
    runtime      TEXT NOT NULL,
    size         INTEGER NOT NULL,
    ready        INTEGER NOT NULL,
    PRIMARY KEY (runner_id, pool_key)
);
--bun:split
CREATE INDEX runner_warm_pools_key_idx ON runner_warm_pools (pool_key, ready);

DROP TABLE runner_warm_pools;

package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type warmPoolRow struct {
	bun.BaseModel `bun:"table:runner_warm_pools,alias:wp"`

	RunnerID    string  `bun:"runner_id,pk"`
	PoolKey     string  `bun:"pool_key,pk"`
	Image       string  `bun:"image"`
	CPU         float64 `bun:"cpu"`
	MemoryBytes int64   `bun:"memory_bytes"`
	Network     string  `bun:"network"`
	Runtime     string  `bun:"runtime"`
	Size        int     `bun:"size"`
	Ready       int     `bun:"ready"`
}

// SetWarmPools replaces runner id's warm pools, in one transaction.
func (db *DB) SetWarmPools(ctx context.Context, runnerID string, pools []codepod.WarmPool) error {
	err := db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		if _, err := tx.idb.NewDelete().Model((*warmPoolRow)(nil)).Where("runner_id = ?", runnerID).Exec(ctx); err != nil {
			return err
		}
		if len(pools) == 0 {
			return nil
		}
		rows := make([]warmPoolRow, 0, len(pools))
		seen := map[string]bool{}
		for _, p := range pools {
			if k := p.Key(); !seen[k] {
				seen[k] = true
				rows = append(rows, warmPoolRow{RunnerID: runnerID, PoolKey: k, Image: p.Image, CPU: p.CPU,
					MemoryBytes: p.MemoryBytes, Network: p.Network, Runtime: p.Runtime, Size: p.Size, Ready: p.Ready})
			}
		}
		_, err := tx.idb.NewInsert().Model(&rows).Exec(ctx)
		return err
	})
	return dbError(err, "set warm pools", nil)
}

// WarmPools returns every runner's warm pools, by runner id.
func (db *DB) WarmPools(ctx context.Context) (map[string][]codepod.WarmPool, error) {
	var rows []warmPoolRow
	if err := db.idb.NewSelect().Model(&rows).Order("runner_id", "pool_key").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list warm pools: %w", err)
	}
	out := map[string][]codepod.WarmPool{}
	for _, r := range rows {
		out[r.RunnerID] = append(out[r.RunnerID], codepod.WarmPool{Image: r.Image, CPU: r.CPU, MemoryBytes: r.MemoryBytes,
			Network: r.Network, Runtime: r.Runtime, Size: r.Size, Ready: r.Ready})
	}
	return out, nil
}

// WarmRunners lists the runners with a ready sandbox in pool key.
func (db *DB) WarmRunners(ctx context.Context, key string) ([]string, error) {
	var ids []string
	err := db.idb.NewSelect().Model((*warmPoolRow)(nil)).Column("runner_id").
		Where("pool_key = ? AND ready > 0", key).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("warm runners: %w", err)
	}
	return ids, nil
}

// TakeWarm decrements runner id's ready count of pool key if it is above
// zero (a conditional write: two creates cannot both take the last one).
func (db *DB) TakeWarm(ctx context.Context, runnerID, key string) (bool, error) {
	res, err := db.idb.NewUpdate().Model((*warmPoolRow)(nil)).Set("ready = ready - 1").
		Where("runner_id = ? AND pool_key = ? AND ready > 0", runnerID, key).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("take warm sandbox: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

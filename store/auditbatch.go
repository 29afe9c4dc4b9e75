package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/codepod-dev/codepod"
)

// auditBatchMax bounds the entries one group commit writes.
const auditBatchMax = 256

// auditBatcher group-commits the entries of requests that changed nothing
// in the store (an exec, a session, a read that is audited), which each
// needed a transaction of their own: one transaction per append took the
// chain's head (a row lock held to the commit on PostgreSQL, the writer
// on SQLite) and one commit (a WAL sync on PostgreSQL) per entry, so 200
// execs at once waited in line for the head. Entries that arrive while a
// batch is being written go together into the next one.
type auditBatcher struct {
	mu      sync.Mutex
	queue   []*auditWait
	writing bool
}

type auditWait struct {
	p    *codepod.PendingAudit
	done chan error
}

// FlushAudit writes p's entry in a transaction of its own (shared with
// the entries other requests flush at the same moment) unless something
// wrote it already, and returns once it is committed. It marks p written.
// In a transaction it appends p there instead.
func (db *DB) FlushAudit(ctx context.Context, p *codepod.PendingAudit) error {
	if p.Written() {
		return nil
	}
	if db.inTx {
		return fmt.Errorf("flush audit entry: called in a transaction (its entry goes in with the transaction's change)")
	}
	w := &auditWait{p: p, done: make(chan error, 1)}
	b := db.audits
	b.mu.Lock()
	b.queue = append(b.queue, w)
	if !b.writing {
		b.writing = true
		go db.writeAudits()
	}
	b.mu.Unlock()
	return <-w.done
}

// writeAudits writes the queue batch by batch until it is empty.
func (db *DB) writeAudits() {
	b := db.audits
	for {
		b.mu.Lock()
		batch := b.queue[:min(len(b.queue), auditBatchMax)]
		b.queue = b.queue[len(batch):]
		if len(batch) == 0 {
			b.queue = nil
			b.writing = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		err := db.writeAuditBatch(batch)
		if err != nil && len(batch) > 1 {
			// One entry the database refuses must not lose the others:
			// write each alone, so only its own request sees the error.
			for _, w := range batch {
				w.done <- db.writeAuditBatch([]*auditWait{w})
			}
			continue
		}
		for _, w := range batch {
			w.done <- err
		}
	}
}

// writeAuditBatch appends the batch's unwritten entries in one transaction
// and marks them written once it committed (before SQLite's writer is let
// go: a change of the same request that commits next finds its entry
// written and does not append it again).
func (db *DB) writeAuditBatch(batch []*auditWait) error {
	var ps []*codepod.PendingAudit
	return db.runInTxThen(context.Background(), func(ctx context.Context, tx *DB) error {
		ps = ps[:0]
		es := make([]*codepod.AuditEvent, 0, len(batch))
		seen := make(map[*codepod.PendingAudit]bool, len(batch))
		for _, w := range batch {
			if seen[w.p] || w.p.Written() {
				continue // flushed twice, or written by another batch or the change it records
			}
			seen[w.p] = true
			e := w.p.Event()
			ps, es = append(ps, w.p), append(es, &e)
		}
		return tx.appendAudits(ctx, es)
	}, func() {
		for _, p := range ps {
			p.MarkWritten()
		}
	})
}

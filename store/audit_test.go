package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/store"
)

// TestAudit runs the audit log's tests on SQLite and PostgreSQL.
func TestAudit(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			t.Run("same_transaction", func(t *testing.T) { testAuditSameTx(t, b) })
			t.Run("verify_detects_tampering", func(t *testing.T) { testAuditTamper(t, b) })
			t.Run("prune_keeps_anchor", func(t *testing.T) { testAuditPrune(t, b) })
			t.Run("concurrent_appends", func(t *testing.T) { testAuditConcurrent(t, b) })
			t.Run("values_round_trip", func(t *testing.T) { testAuditValues(t, b) })
			t.Run("flush_group_commit", func(t *testing.T) { testAuditFlush(t, b) })
		})
	}
}

func auditAll(t *testing.T, db *store.DB) []codepod.AuditEvent {
	t.Helper()
	es, _, err := db.ListAudit(context.Background(), codepod.AuditFilter{Limit: 500})
	must(t, err)
	return es
}

func wantIntact(t *testing.T, db *store.DB) *codepod.AuditVerifier {
	t.Helper()
	v, err := codepod.VerifyAudit(context.Background(), db)
	must(t, err)
	if v.Bad != 0 {
		t.Fatalf("verify: first bad entry %d: %s", v.Bad, v.Problem)
	}
	return v
}

// testAuditSameTx: a pending entry is written once, with the first write
// that commits under its context (in a transaction or a single write made
// into one), and never with a write that fails.
func testAuditSameTx(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	pend := func(action string) (context.Context, *codepod.PendingAudit) {
		p := codepod.NewPendingAudit(codepod.AuditEvent{Action: action, ActorUserID: "usr_x", RequestID: "req_" + action})
		return codepod.WithPendingAudit(ctx, p), p
	}

	// A single write outside a transaction carries the entry.
	c1, p1 := pend("user.create")
	u := &codepod.User{Email: "ada@example.com"}
	must(t, db.CreateUser(c1, u))
	if !p1.Written() {
		t.Fatal("the entry is not marked written after the create committed")
	}
	// A second write of the same request does not write it again.
	key := &codepod.APIKey{UserID: u.ID, Name: "k", Prefix: "p", Hash: []byte("h")}
	must(t, db.CreateAPIKey(c1, key))
	if es := auditAll(t, db); len(es) != 1 || es[0].Action != "user.create" || es[0].Outcome != codepod.AuditOK || es[0].Seq != 1 {
		t.Fatalf("entries = %+v, want one user.create", es)
	}

	// A transaction that fails leaves none, and the entry stays pending.
	c2, p2 := pend("user.create.rolled")
	err := db.InTx(c2, func(tx codepod.Store) error {
		if err := tx.CreateUser(c2, &codepod.User{Email: "bob@example.com"}); err != nil {
			return err
		}
		return fmt.Errorf("boom")
	})
	if err == nil || p2.Written() {
		t.Fatalf("InTx = %v, written = %v; want the error and nothing written", err, p2.Written())
	}
	// A single write that fails (a conflicting email) leaves none.
	err = db.CreateUser(c2, &codepod.User{Email: "ada@example.com"})
	wantCode(t, err, codepod.ECONFLICT)
	if es := auditAll(t, db); len(es) != 1 {
		t.Fatalf("entries after failed writes = %+v, want only the first", es)
	}
	// The transaction that commits writes it, after its change.
	must(t, db.InTx(c2, func(tx codepod.Store) error { return tx.CreateUser(c2, &codepod.User{Email: "bob@example.com"}) }))
	es := auditAll(t, db)
	if len(es) != 2 || es[1].Action != "user.create.rolled" || es[1].PrevHash != es[0].Hash {
		t.Fatalf("entries = %+v, want a second chained entry", es)
	}
	// Writes without a pending entry (a touch, a background change) write none.
	must(t, db.TouchAPIKey(ctx, key.ID, time.Now()))
	must(t, db.AppendAudit(ctx, &codepod.AuditEvent{Action: "direct"}))
	if v := wantIntact(t, db); v.Checked() != 3 {
		t.Fatalf("verified %d entries, want 3", v.Checked())
	}
}

// testAuditTamper: verification finds an edited row, a deleted row in the
// middle and a deleted last row, naming the first bad seq.
func testAuditTamper(t *testing.T, b backend) {
	ctx := context.Background()
	url := b.url(t)
	db := openURL(t, url, nil)
	raw := b.raw(t, url)
	for i := range 5 {
		must(t, db.AppendAudit(ctx, &codepod.AuditEvent{Action: "sandbox.create", TargetType: "sandbox", TargetID: fmt.Sprint("sb_", i)}))
	}
	wantIntact(t, db)
	wantBad := func(seq int64) {
		t.Helper()
		v, err := codepod.VerifyAudit(ctx, db)
		must(t, err)
		if v.Bad != seq {
			t.Fatalf("verify: bad = %d (%s), want %d", v.Bad, v.Problem, seq)
		}
	}
	exec := func(q string) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE audit_events SET target_id = 'sb_other' WHERE seq = 2")
	wantBad(2)
	exec("UPDATE audit_events SET target_id = 'sb_1' WHERE seq = 2")
	wantIntact(t, db)
	exec("DELETE FROM audit_events WHERE seq = 5")
	wantBad(5)
	exec("DELETE FROM audit_events WHERE seq = 3")
	wantBad(3)
}

// testAuditPrune: retention deletes the oldest entries and the chain still
// verifies from the anchor it leaves; new entries chain on.
func testAuditPrune(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		must(t, db.AppendAudit(ctx, &codepod.AuditEvent{Action: "a", Time: t0.Add(time.Duration(i) * time.Hour)}))
	}
	n, err := db.PruneAudit(ctx, t0.Add(90*time.Minute)) // entries 1 and 2
	must(t, err)
	h, err := db.AuditHead(ctx)
	must(t, err)
	if n != 2 || h.AnchorSeq != 2 || h.Seq != 4 {
		t.Fatalf("pruned %d, head %+v; want 2 pruned, anchor 2, head 4", n, h)
	}
	must(t, db.AppendAudit(ctx, &codepod.AuditEvent{Action: "b"}))
	if v := wantIntact(t, db); v.Checked() != 3 {
		t.Fatalf("verified %d entries after pruning, want 3", v.Checked())
	}
	if n, err := db.PruneAudit(ctx, t0); err != nil || n != 0 {
		t.Fatalf("prune of nothing = %d, %v", n, err)
	}
}

// testAuditConcurrent: concurrent transactions (several connections, as
// replicas would be) append without forking the chain.
func testAuditConcurrent(t *testing.T, b backend) {
	ctx := context.Background()
	url := b.url(t)
	dbs := []*store.DB{openURL(t, url, nil), openURL(t, url, nil)} // two "replicas"
	const writers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[w%2]
			for i := range each {
				p := codepod.NewPendingAudit(codepod.AuditEvent{Action: "sandbox.exec", TargetID: fmt.Sprint(w, "-", i)})
				c := codepod.WithPendingAudit(ctx, p)
				if err := db.InTx(c, func(tx codepod.Store) error { return nil }); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v := wantIntact(t, dbs[0]); v.Checked() != writers*each {
		t.Fatalf("verified %d entries, want %d", v.Checked(), writers*each)
	}
}

// BenchmarkAuditedWrite measures what the audit entry adds to a single
// write: creating an API key with no pending entry (the baseline) and with
// one (the write then runs in a transaction that also appends the entry).
func BenchmarkAuditedWrite(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := open(b, be)
			ctx := context.Background()
			u := newUser(b, db, "bench@example.com")
			for _, audited := range []bool{false, true} {
				name := "plain"
				if audited {
					name = "audited"
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						c := ctx
						if audited {
							c = codepod.WithPendingAudit(ctx, codepod.NewPendingAudit(codepod.AuditEvent{Action: "apikey.create"}))
						}
						must(b, db.CreateAPIKey(c, &codepod.APIKey{UserID: u.ID, Name: "k", Prefix: "p", Hash: []byte("h")}))
					}
				})
			}
		})
	}
}

// testAuditValues: what an entry says comes back exactly as it was
// appended (quotes, placeholders' characters, non-ASCII text, a time with
// microseconds), the time filters find it, and the chain verifies.
func testAuditValues(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	at := time.Date(2026, 12, 1, 4, 5, 6, 123456000, time.UTC)
	in := codepod.AuditEvent{Time: at, ActorUserID: "usr_'; DROP TABLE users; --", ActorKeyID: "key_?",
		WorkspaceID: "ws_$1", ClientAddr: "[::1]:4242", RequestID: "req_\"x\"", Action: "sandbox.exec",
		TargetType: "sandbox", TargetID: "sb_ünïcødé", Detail: `{"command":["echo","it's ? $1 \\ 😀"]}`}
	e := in
	must(t, db.AppendAudit(ctx, &e))
	late := in
	late.Time = at.Add(time.Microsecond)
	must(t, db.AppendAudit(ctx, &late))
	es := auditAll(t, db)
	if len(es) != 2 {
		t.Fatalf("entries = %+v, want 2", es)
	}
	got := es[0]
	want := in
	want.Seq, want.Outcome, want.PrevHash, want.Hash = 1, codepod.AuditOK, got.PrevHash, e.Hash
	if got != want {
		t.Fatalf("read back\n %+v\nwant\n %+v", got, want)
	}
	for _, f := range []struct {
		since, until time.Time
		want         int
	}{{at, time.Time{}, 2}, {at.Add(time.Microsecond), time.Time{}, 1}, {time.Time{}, at.Add(time.Microsecond), 1}, {time.Time{}, at, 0}} {
		es, _, err := db.ListAudit(ctx, codepod.AuditFilter{Since: f.since, Until: f.until})
		must(t, err)
		if len(es) != f.want {
			t.Errorf("since %v until %v: %d entries, want %d", f.since, f.until, len(es), f.want)
		}
	}
	wantIntact(t, db)
}

// testAuditFlush: entries flushed at once by many requests on two
// "replicas", beside changes that carry their own entries, are each
// written exactly once (one flushed by two goroutines of its process too), marked
// written, and the chain stays whole; a flush the store cannot write
// returns the error and marks nothing.
func testAuditFlush(t *testing.T, b backend) {
	ctx := context.Background()
	url := b.url(t)
	dbs := []*store.DB{openURL(t, url, nil), openURL(t, url, nil)}
	const flushers, changes = 120, 12
	var wg sync.WaitGroup
	errs := make(chan error, flushers+changes+2)
	var pending []*codepod.PendingAudit
	for i := range flushers {
		p := codepod.NewPendingAudit(codepod.AuditEvent{Action: "sandbox.exec", TargetID: fmt.Sprint("exec-", i)})
		pending = append(pending, p)
		wg.Go(func() {
			if err := dbs[i%2].FlushAudit(ctx, p); err != nil {
				errs <- err
			}
		})
	}
	twice := codepod.NewPendingAudit(codepod.AuditEvent{Action: "sandbox.exec", TargetID: "twice"})
	pending = append(pending, twice)
	for range 2 { // one request's entry lives in one process: one pool
		wg.Go(func() {
			if err := dbs[0].FlushAudit(ctx, twice); err != nil {
				errs <- err
			}
		})
	}
	for i := range changes {
		p := codepod.NewPendingAudit(codepod.AuditEvent{Action: "user.create", TargetID: fmt.Sprint("change-", i)})
		pending = append(pending, p)
		wg.Go(func() {
			u := &codepod.User{Email: fmt.Sprintf("u%d@example.com", i)}
			if err := dbs[i%2].CreateUser(codepod.WithPendingAudit(ctx, p), u); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, p := range pending {
		if !p.Written() {
			t.Fatalf("entry %s is not marked written", p.Event().TargetID)
		}
	}
	seen := map[string]int{}
	for _, e := range auditAll(t, dbs[0]) {
		seen[e.TargetID]++
	}
	for _, p := range pending {
		if id := p.Event().TargetID; seen[id] != 1 {
			t.Errorf("entry %s is in the log %d times, want once", id, seen[id])
		}
	}
	if v := wantIntact(t, dbs[0]); v.Checked() != len(pending) {
		t.Fatalf("verified %d entries, want %d", v.Checked(), len(pending))
	}

	// A flush the store cannot write (the pool is closed) says so and
	// leaves the entry unwritten.
	gone := openURL(t, url, nil)
	gone.Close()
	p := codepod.NewPendingAudit(codepod.AuditEvent{Action: "sandbox.exec", TargetID: "lost"})
	if err := gone.FlushAudit(ctx, p); err == nil || p.Written() {
		t.Fatalf("flush on a closed store = %v, written %v; want an error and nothing written", err, p.Written())
	}
}

// BenchmarkFlushAudit measures entries flushed by 200 requests at once
// (the load harness's 200 concurrent execs): each in a transaction of its
// own (InTx carrying the pending entry, as before the group commit; the
// baseline) and through FlushAudit's group commit.
func BenchmarkFlushAudit(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := open(b, be)
			ctx := context.Background()
			flushers := map[string]func(p *codepod.PendingAudit) error{
				"own-tx": func(p *codepod.PendingAudit) error {
					return db.InTx(codepod.WithPendingAudit(ctx, p), func(codepod.Store) error { return nil })
				},
				"group": func(p *codepod.PendingAudit) error { return db.FlushAudit(ctx, p) },
			}
			for _, name := range []string{"own-tx", "group"} {
				flush := flushers[name]
				b.Run(name, func(b *testing.B) {
					const callers = 200
					var n atomic.Int64
					var wg sync.WaitGroup
					for range callers {
						wg.Go(func() {
							for n.Add(1) <= int64(b.N) {
								if err := flush(codepod.NewPendingAudit(codepod.AuditEvent{Action: "sandbox.exec"})); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					wg.Wait()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				})
			}
		})
	}
}

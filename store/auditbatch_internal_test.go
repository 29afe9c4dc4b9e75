package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/testenv"
)

// TestAuditBatchKeepsGoodEntries hands the group commit one batch holding
// the same entry twice, then one with an entry the database refuses (a NUL
// byte, which neither SQLite through bun nor PostgreSQL takes as text)
// between good ones: the good ones are written once each, in order, only
// the refused one's request gets an error, and the chain verifies.
func TestAuditBatchKeepsGoodEntries(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			url := "sqlite://" + filepath.Join(t.TempDir(), "codepod.db")
			if kind == "postgres" {
				url = testenv.PostgresURL(t)
			}
			ctx := context.Background()
			db, err := Open(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			wait := func(p *codepod.PendingAudit) *auditWait { return &auditWait{p: p, done: make(chan error, 1)} }
			entry := func(id string) *codepod.PendingAudit {
				return codepod.NewPendingAudit(codepod.AuditEvent{Action: "sandbox.exec", TargetID: id})
			}
			write := func(ws ...*auditWait) {
				b := db.audits
				b.mu.Lock()
				b.queue, b.writing = ws, true
				b.mu.Unlock()
				db.writeAudits()
			}
			// One batch holding one entry twice.
			g1, g2 := entry("good-1"), entry("good-2")
			write(wait(g1), wait(g1), wait(g2))
			// One batch with a refused entry between good ones.
			g3, bad, g4 := entry("good-3"), entry("bad\x00"), entry("good-4")
			ws := []*auditWait{wait(g3), wait(bad), wait(g4)}
			write(ws...)
			for i, w := range ws {
				err := <-w.done
				if (w.p == bad) != (err != nil) {
					t.Errorf("waiter %d (%q): err = %v", i, w.p.Event().TargetID, err)
				}
			}
			for _, p := range []*codepod.PendingAudit{g1, g2, g3, g4} {
				if !p.Written() {
					t.Errorf("%s is not marked written", p.Event().TargetID)
				}
			}
			if bad.Written() {
				t.Error("the refused entry is marked written")
			}
			es, _, err := db.ListAudit(ctx, codepod.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range es {
				ids = append(ids, e.TargetID)
			}
			if fmt.Sprint(ids) != "[good-1 good-2 good-3 good-4]" {
				t.Fatalf("entries %v, want good-1 to good-4 once each, in order", ids)
			}
			v, err := codepod.VerifyAudit(ctx, db)
			if err != nil || v.Bad != 0 {
				t.Fatalf("verify = %+v, %v", v, err)
			}
		})
	}
}

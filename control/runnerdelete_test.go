package control_test

import (
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// TestDeleteRunner: deleting a runner puts its pending sandboxes back to
// placement, ends its deleting ones deleted with a reason that says the
// container may remain, and makes the others lost, unplaced.
func TestDeleteRunner(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		up := e.runningBox(r, "up")
		going := e.runningBox(r, "going")
		if _, err := e.svc.DeleteSandbox(e.ctx, e.alice, "going"); err != nil {
			t.Fatal(err)
		}
		waiting := e.create(e.alice, "waiting", codepod.SandboxSpec{}) // placed, create not leased
		if waiting.RunnerID != r.ID {
			t.Fatalf("waiting placed on %q", waiting.RunnerID)
		}

		if err := e.svc.DeleteRunner(e.ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.DeleteRunner(e.ctx, r.ID), codepod.ENOTFOUND)
		if got := e.wantStatus(waiting.ID, codepod.SandboxPending, "waiting for another runner"); got.RunnerID != "" {
			t.Fatalf("pending sandbox still on %q", got.RunnerID)
		}
		e.wantStatus(going.ID, codepod.SandboxDeleted, "may remain on that host")
		if got := e.wantStatus(up.ID, codepod.SandboxLost, "r1 was deleted"); got.RunnerID != "" {
			t.Fatalf("lost sandbox still on %q", got.RunnerID)
		}
		// The lost one can be deleted at once (no runner will remove it).
		if sb, err := e.svc.DeleteSandbox(e.ctx, e.alice, "up"); err != nil || sb.Status != codepod.SandboxDeleted {
			t.Fatalf("delete lost sandbox: %+v, %v", sb, err)
		}
		// The pending one is placed on the next runner.
		r2 := e.runner("r2", nil, wire.Capacity{})
		e.pollOne(r2, wire.KindCreate, waiting.ID)
	})
}

package control_test

import (
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

func TestReconcile(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		// Nothing here waits on a lease or a runner timeout: long ones keep
		// the leased stop job leased (and r1 online) on a loaded machine.
		cfg := testConfig()
		cfg.Lease, cfg.RunnerTimeout = time.Minute, time.Minute
		e := newEnv(t, url, cfg)
		r := e.runner("r1", nil, wire.Capacity{Sandboxes: 5})
		running := func(name string) *codepod.Sandbox {
			sb := e.create(e.alice, name, codepod.SandboxSpec{})
			e.ok(r, e.pollOne(r, wire.KindCreate, sb.ID))
			return sb
		}
		kept, vanished, drifted, gone, stopping := running("kept"), running("vanished"), running("drifted"), running("gone"), running("stopping")
		if _, err := e.svc.DeleteSandbox(e.ctx, e.alice, "gone"); err != nil {
			t.Fatal(err)
		}
		e.ok(r, e.pollOne(r, wire.KindDelete, gone.ID))
		if _, err := e.svc.StopSandbox(e.ctx, e.alice, "stopping"); err != nil {
			t.Fatal(err)
		}
		e.pollOne(r, wire.KindStop, stopping.ID) // leased, no result yet
		other := e.runner("r2", nil, wire.Capacity{})
		elsewhere := e.create(e.bob, "elsewhere", codepod.SandboxSpec{})
		if elsewhere.RunnerID != other.ID {
			t.Fatalf("bob's sandbox on %q; want %s", elsewhere.RunnerID, other.ID)
		}
		e.ok(other, e.pollOne(other, wire.KindCreate, elsewhere.ID))

		inv := []wire.SandboxState{
			{ID: kept.ID, State: wire.StateRunning, HostKeyFingerprint: "SHA256:new", AgentVersion: "v0.9.0-agent"},
			{ID: drifted.ID, State: wire.StateStopped},                // server says running: the runner wins
			{ID: "sb_unknown0000000000000", State: wire.StateRunning}, // never known
			{ID: gone.ID, State: wire.StateStopped},                   // deleted on the server
			{ID: elsewhere.ID, State: wire.StateRunning},              // placed on r2
		} // vanished and stopping are not reported
		// As the API does, poll with the runner as it is now: its last poll
		// (the one that leased the stop) bounds when the inventory was taken.
		r, _ = e.st.Runner(e.ctx, r.ID)
		jobs := e.poll(r, wire.PollRequest{Reconcile: true, Sandboxes: inv, WaitSeconds: 2})

		deletes := map[string]bool{}
		for _, j := range jobs {
			if j.Kind != wire.KindDelete || j.Sandbox == nil || j.Sandbox.ID != j.SandboxID {
				t.Fatalf("reconcile delivered %+v; want only delete jobs", j)
			}
			deletes[j.SandboxID] = true
		}
		if len(deletes) != 3 || !deletes["sb_unknown0000000000000"] || !deletes[gone.ID] || !deletes[elsewhere.ID] {
			t.Fatalf("orphan deletes = %v; want the unknown, the deleted and r2's sandbox", deletes)
		}
		if got := e.wantStatus(kept.ID, codepod.SandboxRunning, ""); got.HostKeyFingerprint != "SHA256:new" {
			t.Fatalf("fingerprint %q; want the reported one", got.HostKeyFingerprint)
		} else if got.AgentVersion != "v0.9.0-agent" {
			t.Fatalf("agent version %q; want the reported v0.9.0-agent", got.AgentVersion)
		}
		e.wantStatus(drifted.ID, codepod.SandboxStopped, "")
		e.wantStatus(vanished.ID, codepod.SandboxError, "container disappeared from runner r1")
		e.wantStatus(stopping.ID, codepod.SandboxStopping, "") // its stop job is under way

		// The orphans' results change nothing on the server.
		for _, j := range jobs {
			e.ok(r, j)
		}
		e.wantStatus(elsewhere.ID, codepod.SandboxRunning, "")
		e.wantStatus(gone.ID, codepod.SandboxDeleted, "")
	})
}

// TestReportState: a runner reports one sandbox's state between
// inventories: failed (a devcontainer hook failed after the sandbox was
// ready) puts it in error with the reason at once, stopped stops it with
// its reason; another runner's sandbox is not found and unchanged, and a
// state that cannot be reported alone is refused.
func TestReportState(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{Sandboxes: 5})
		running := func(name string) *codepod.Sandbox {
			sb := e.create(e.alice, name, codepod.SandboxSpec{})
			e.ok(r, e.pollOne(r, wire.KindCreate, sb.ID))
			return sb
		}
		failing, stopping := running("failing"), running("stopping")
		const why = `devcontainer postCreateCommand "npm ci" failed: exit 1; last output: E404`
		if err := e.svc.ReportState(e.ctx, r, wire.SandboxState{ID: failing.ID, State: wire.StateFailed, Reason: why}); err != nil {
			t.Fatal(err)
		}
		e.wantStatus(failing.ID, codepod.SandboxError, why)
		// Reported again (the inventory says the same): nothing changes.
		if err := e.svc.ReportState(e.ctx, r, wire.SandboxState{ID: failing.ID, State: wire.StateFailed, Reason: why}); err != nil {
			t.Fatal(err)
		}
		e.wantStatus(failing.ID, codepod.SandboxError, why)

		other := e.runner("r2", nil, wire.Capacity{})
		err := e.svc.ReportState(e.ctx, other, wire.SandboxState{ID: stopping.ID, State: wire.StateFailed, Reason: "not yours"})
		if codepod.ErrorCode(err) != codepod.ENOTFOUND {
			t.Fatalf("another runner's sandbox: %v; want not found", err)
		}
		if err := e.svc.ReportState(e.ctx, r, wire.SandboxState{ID: stopping.ID, State: wire.StateMissing}); codepod.ErrorCode(err) != codepod.EINVALID {
			t.Fatalf("state missing alone: %v; want invalid", err)
		}
		e.wantStatus(stopping.ID, codepod.SandboxRunning, "")
		const closed = "devcontainer shutdownAction stopContainer: the last terminal session closed"
		if err := e.svc.ReportState(e.ctx, r, wire.SandboxState{ID: stopping.ID, State: wire.StateStopped, Reason: closed}); err != nil {
			t.Fatal(err)
		}
		e.wantStatus(stopping.ID, codepod.SandboxStopped, closed)
	})
}

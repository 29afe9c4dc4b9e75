package control_test

import (
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// TestUpgradeAgentJob: an admin's in-place agent upgrade becomes an
// agent_upgrade job for the sandbox's runner; its result's version is
// recorded on the sandbox, whose state does not move. A tenant may not
// ask for one.
func TestUpgradeAgentJob(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{Sandboxes: 2})
		sb := e.create(e.alice, "box", codepod.SandboxSpec{})
		e.ok(r, e.pollOne(r, wire.KindCreate, sb.ID))
		before := e.get(sb.ID)

		if _, err := e.svc.UpgradeAgent(e.ctx, e.alice, sb.ID); codepod.ErrorCode(err) != codepod.EFORBIDDEN {
			t.Fatalf("a tenant's agent upgrade: %v, want forbidden", err)
		}
		type answer struct {
			sb  *codepod.Sandbox
			err error
		}
		done := make(chan answer, 1)
		go func() {
			got, err := e.svc.UpgradeAgent(e.ctx, e.admin, sb.ID)
			done <- answer{got, err}
		}()
		j := e.pollOne(r, wire.KindAgentUpgrade, sb.ID)
		if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{OK: true, AgentVersion: "v2.0.0"}); err != nil {
			t.Fatal(err)
		}
		a := <-done
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.sb.AgentVersion != "v2.0.0" || a.sb.Status != codepod.SandboxRunning || a.sb.Version != before.Version {
			t.Fatalf("after the upgrade: agent %q status %s version %d, want v2.0.0, running, version %d",
				a.sb.AgentVersion, a.sb.Status, a.sb.Version, before.Version)
		}
	})
}

package control_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/quartz"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

// runningBox creates a sandbox of alice and runs its create job on r.
func (e *env) runningBox(r *codepod.Runner, name string) *codepod.Sandbox {
	e.t.Helper()
	sb := e.create(e.alice, name, codepod.SandboxSpec{})
	e.ok(r, e.pollOne(r, wire.KindCreate, sb.ID))
	return e.wantStatus(sb.ID, codepod.SandboxRunning, "")
}

func TestOpenTunnel(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		key := &codepod.SSHKey{UserID: e.alice.ID, Name: "laptop", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb4 alice", Fingerprint: "SHA256:x"}
		if err := e.st.CreateSSHKey(e.ctx, key); err != nil {
			t.Fatal(err)
		}
		pending := e.create(e.alice, "early", codepod.SandboxSpec{})
		_, _, err := e.svc.OpenTunnel(e.ctx, e.alice, pending.ID)
		wantCode(t, err, codepod.ECONFLICT)
		e.pollOne(r, wire.KindCreate, pending.ID) // out of the way

		sb := e.runningBox(r, "box")
		_, _, err = e.svc.OpenTunnel(e.ctx, e.bob, "box")
		wantCode(t, err, codepod.ENOTFOUND)
		_, _, err = e.svc.OpenTunnel(e.ctx, e.bob, sb.ID)
		wantCode(t, err, codepod.ENOTFOUND)

		got, id, err := e.svc.OpenTunnel(e.ctx, e.alice, "box")
		if err != nil {
			t.Fatal(err)
		}
		j := e.pollOne(r, wire.KindTunnel, sb.ID)
		switch {
		case got.ID != sb.ID || got.RunnerID != r.ID || !strings.HasPrefix(id, "tun_"):
			t.Fatalf("OpenTunnel = %s on %s, tunnel %q", got.ID, got.RunnerID, id)
		case j.Tunnel == nil || j.Tunnel.TunnelID != id || j.Tunnel.Path != control.TunnelPathPrefix+id:
			t.Fatalf("tunnel job payload %+v", j.Tunnel)
		case len(j.Tunnel.AuthorizedKeys) != 1 || j.Tunnel.AuthorizedKeys[0] != key.PublicKey:
			t.Fatalf("tunnel job carries keys %q, want the owner's", j.Tunnel.AuthorizedKeys)
		}
		e.ok(r, j)
		e.wantStatus(sb.ID, codepod.SandboxRunning, "")

		if _, err := e.svc.StopSandbox(e.ctx, e.alice, "box"); err != nil {
			t.Fatal(err)
		}
		e.ok(r, e.pollOne(r, wire.KindStop, sb.ID))
		_, _, err = e.svc.OpenSystemTunnel(e.ctx, sb.ID)
		if codepod.ErrorCode(err) != codepod.ECONFLICT || !strings.Contains(codepod.ErrorMessage(err), "is stopped; start it first") {
			t.Fatalf("tunnel to a stopped sandbox: %v", err)
		}
	})
}

// TestTunnelJobIsDeliveredAtOnce: a poll that waits gets the job without
// waiting out its hold.
func TestTunnelJobIsDeliveredAtOnce(t *testing.T) {
	clock := quartz.NewMock(t)
	cfg := testConfig()
	cfg.Clock = clock
	e := newEnv(t, databases[0].url(t), cfg)
	r := e.runner("r1", nil, wire.Capacity{})
	sb := e.runningBox(r, "box")
	waiting := clock.Trap().NewTimer("poll", "wait")
	defer waiting.Close()
	answered := make(chan []wire.Job, 1)
	go func() {
		resp, err := e.svc.Poll(e.ctx, r, wire.PollRequest{WaitSeconds: 20})
		if err != nil {
			t.Errorf("poll: %v", err)
			resp = &wire.PollResponse{}
		}
		answered <- resp.Jobs
	}()
	waiting.MustWait(e.ctx).MustRelease(e.ctx) // the poll found nothing and waits
	if _, _, err := e.svc.OpenSystemTunnel(e.ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case jobs := <-answered:
		if len(jobs) != 1 || jobs[0].Kind != wire.KindTunnel {
			t.Fatalf("poll got %s; want the tunnel job", describe(jobs))
		}
	case <-time.After(30 * time.Second):
		// The mock clock never ends the 20s hold: only the wake answers.
		t.Fatal("a poll waiting 20s was not woken by the tunnel job")
	}
}

// TestStaleTunnelJobsAreFailedNotDelivered: a tunnel job whose client has
// given up is failed at the claim, whether it waited too long in the queue
// or its first lease ran out.
func TestStaleTunnelJobsAreFailedNotDelivered(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		var mu sync.Mutex
		now := time.Now()
		cfg := testConfig()
		cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		e := newEnv(t, url, cfg)
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.runningBox(r, "box")

		// Too old by the time the runner polls.
		if _, _, err := e.svc.OpenSystemTunnel(e.ctx, sb.ID); err != nil {
			t.Fatal(err)
		}
		advance(control.TunnelMaxAge + time.Second)
		if jobs := e.pollNow(r); len(jobs) != 0 {
			t.Fatalf("a stale tunnel job was delivered: %s", describe(jobs))
		}

		// Delivered, never reported, lease expired: not delivered again.
		if _, _, err := e.svc.OpenSystemTunnel(e.ctx, sb.ID); err != nil {
			t.Fatal(err)
		}
		j := e.pollOne(r, wire.KindTunnel, sb.ID)
		advance(2 * time.Second) // past the 1s lease
		if jobs := e.pollNow(r); len(jobs) != 0 {
			t.Fatalf("a tunnel job was delivered again after its lease: %s", describe(jobs))
		}
		job, err := e.st.Job(e.ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if job.Status != codepod.JobFailed || !strings.Contains(job.Error, "expired") {
			t.Fatalf("stale tunnel job is %s (%q), want failed", job.Status, job.Error)
		}
		counts, err := e.st.CountJobsByStatus(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[codepod.JobQueued] != 0 || counts[codepod.JobLeased] != 0 {
			t.Fatalf("jobs left in the queue: %v", counts)
		}
	})
}

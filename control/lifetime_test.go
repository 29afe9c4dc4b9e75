package control_test

import (
	"context"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

func dur(d time.Duration) *time.Duration { return &d }

// TestSetLifetime: a TTL extended and shortened from now, bounded by the
// server's MaxTTL (the change wakes the events feed), and an idle timeout
// set and removed; another user's sandbox is not found.
func TestSetLifetime(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		cfg := testConfig()
		cfg.Limits = codepod.DefaultLimits
		cfg.Limits.MaxTTL = 24 * time.Hour
		e := newEnv(t, url, cfg)
		sb := e.create(e.alice, "life", codepod.SandboxSpec{TTL: time.Hour})

		before := time.Now()
		changed := e.svc.SandboxesChanged()
		got, err := e.svc.SetLifetime(e.ctx, e.alice, "life", control.Lifetime{TTL: dur(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		select { // the events feed wakes for the new expiry
		case <-changed:
		default:
			t.Error("SetLifetime did not wake SandboxesChanged")
		}
		if got.ExpiresAt == nil || got.ExpiresAt.Before(before.Add(2*time.Hour)) || got.Spec.TTL != 2*time.Hour || got.Version != sb.Version+1 {
			t.Fatalf("extended: expires %v ttl %s version %d", got.ExpiresAt, got.Spec.TTL, got.Version)
		}
		got, err = e.svc.SetLifetime(e.ctx, e.alice, sb.ID, control.Lifetime{TTL: dur(time.Minute), IdleTimeout: dur(5 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if got.ExpiresAt.After(time.Now().Add(time.Minute)) || got.IdleAt == nil || got.Spec.IdleTimeout != 5*time.Minute {
			t.Fatalf("shortened: expires %v idle_at %v", got.ExpiresAt, got.IdleAt)
		}
		got, err = e.svc.SetLifetime(e.ctx, e.alice, sb.ID, control.Lifetime{IdleTimeout: dur(0)})
		if err != nil || got.IdleAt != nil || got.Spec.IdleTimeout != 0 || got.Spec.TTL != time.Minute {
			t.Fatalf("idle off: %+v %v", got, err)
		}
		_, err = e.svc.SetLifetime(e.ctx, e.alice, sb.ID, control.Lifetime{TTL: dur(48 * time.Hour)})
		wantCode(t, err, codepod.EINVALID)
		_, err = e.svc.SetLifetime(e.ctx, e.alice, sb.ID, control.Lifetime{TTL: dur(0)})
		wantCode(t, err, codepod.EINVALID)
		_, err = e.svc.SetLifetime(e.ctx, e.alice, sb.ID, control.Lifetime{IdleTimeout: dur(time.Millisecond)})
		wantCode(t, err, codepod.EINVALID)
		_, err = e.svc.SetLifetime(e.ctx, e.bob, sb.ID, control.Lifetime{TTL: dur(time.Hour)})
		wantCode(t, err, codepod.ENOTFOUND)
	})
}

// TestIdleStop: a running sandbox idle past its timeout is stopped; one the
// probe finds busy (processes running) is kept and its idle deadline moves.
func TestIdleStop(t *testing.T) {
	t.Parallel() // waits on the idle timeout, not on the CPU
	forEachDB(t, func(t *testing.T, url string) {
		cfg := testConfig()
		cfg.RunnerTimeout = time.Minute // the test polls only when it needs a job
		e := newEnv(t, url, cfg)
		r := e.runner("r1", nil, wire.Capacity{})
		quiet := e.create(e.alice, "quiet", codepod.SandboxSpec{IdleTimeout: time.Second})
		e.ok(r, e.pollOne(r, wire.KindCreate, quiet.ID))
		busy := e.create(e.alice, "busy", codepod.SandboxSpec{IdleTimeout: time.Second})
		e.ok(r, e.pollOne(r, wire.KindCreate, busy.ID))
		none := e.create(e.alice, "none", codepod.SandboxSpec{})
		e.ok(r, e.pollOne(r, wire.KindCreate, none.ID))
		busyAt := *e.get(busy.ID).IdleAt

		probed := make(chan string, 100)
		e.svc.SetIdleProbe(func(ctx context.Context, sb *codepod.Sandbox) (bool, error) {
			probed <- sb.Name
			return sb.Name == "busy", nil
		})
		e.run(e.svc)
		j := e.poll(r, wire.PollRequest{WaitSeconds: 10})
		for attempt := 0; len(j) == 0 && attempt < 5; attempt++ { // a loaded machine
			j = e.poll(r, wire.PollRequest{WaitSeconds: 10})
		}
		if len(j) != 1 || j[0].Kind != wire.KindStop || j[0].SandboxID != quiet.ID {
			t.Fatalf("after the idle timeout, poll = %s; want the stop job of %s", describe(j), quiet.ID)
		}
		e.ok(r, j[0])
		e.wantStatus(quiet.ID, codepod.SandboxStopped, "")
		eventually(t, 60*time.Second, "the busy sandbox probed and its idle deadline moved", func() bool {
			b := e.get(busy.ID)
			return b.IdleAt.After(busyAt) && b.Status == codepod.SandboxRunning
		})
		e.wantStatus(none.ID, codepod.SandboxRunning, "")
		for len(probed) > 0 {
			if n := <-probed; n == "none" {
				t.Error("a sandbox without idle timeout was probed")
			}
		}
	})
}

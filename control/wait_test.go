package control_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coder/quartz"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

// waited is what a WaitSandbox call in a goroutine answered.
type waited struct {
	sb  *codepod.Sandbox
	ok  bool
	err error
}

func TestWaitSandbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		cfg := testConfig()
		cfg.Clock = clock
		e := newEnv(t, url, cfg)
		waiting := clock.Trap().NewTimer("sandbox", "wait")
		defer waiting.Close()
		r := e.runner("r1", nil, wire.Capacity{})

		wait := func(ref string, d time.Duration) <-chan waited {
			done := make(chan waited, 1)
			go func() {
				sb, ok, err := e.svc.WaitSandbox(e.ctx, e.alice, ref, d, control.Settled)
				done <- waited{sb, ok, err}
			}()
			call := waiting.MustWait(e.ctx)
			if call.Duration != d {
				t.Errorf("the wait's timer is %s; want %s", call.Duration, d)
			}
			call.MustRelease(e.ctx)
			return done
		}
		answer := func(done <-chan waited, what string) waited {
			t.Helper()
			select {
			case w := <-done:
				if w.err != nil {
					t.Fatalf("%s: WaitSandbox: %v", what, w.err)
				}
				return w
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: WaitSandbox did not answer (the clock did not move)", what)
			}
			return waited{}
		}

		t.Run("running wakes the waiter", func(t *testing.T) {
			sb := e.create(e.alice, "box", codepod.SandboxSpec{})
			done := wait("box", time.Minute)
			j := e.pollOne(r, wire.KindCreate, sb.ID)
			select {
			case w := <-done:
				t.Fatalf("the wait ended (%s, %v) before the sandbox ran", w.sb.Status, w.err)
			default:
			}
			e.ok(r, j)
			w := answer(done, "create that succeeds")
			if !w.ok || w.sb.Status != codepod.SandboxRunning {
				t.Fatalf("wait = %s, ok %v; want running, ok", w.sb.Status, w.ok)
			}
		})

		t.Run("failure wakes the waiter with the reason", func(t *testing.T) {
			sb := e.create(e.alice, "broken", codepod.SandboxSpec{})
			done := wait(sb.ID, time.Minute)
			j := e.pollOne(r, wire.KindCreate, sb.ID)
			if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{Error: "image nope:latest not found"}); err != nil {
				t.Fatal(err)
			}
			w := answer(done, "create that fails")
			if !w.ok || w.sb.Status != codepod.SandboxError || !strings.Contains(w.sb.Reason, "nope:latest") {
				t.Fatalf("wait = %s (%q), ok %v; want error with the runner's reason", w.sb.Status, w.sb.Reason, w.ok)
			}
		})

		t.Run("timeout answers the sandbox as it is", func(t *testing.T) {
			sb := e.create(e.alice, "slow", codepod.SandboxSpec{})
			done := wait("slow", 30*time.Second)
			clock.Advance(30 * time.Second).MustWait(e.ctx)
			w := answer(done, "create nobody runs")
			if w.ok || w.sb.ID != sb.ID || w.sb.Status != codepod.SandboxPending && w.sb.Status != codepod.SandboxCreating {
				t.Fatalf("wait = %s, ok %v; want %s still pending, not ok", w.sb.Status, w.ok, sb.ID)
			}
		})

		t.Run("another user's sandbox is not found", func(t *testing.T) {
			_, _, err := e.svc.WaitSandbox(e.ctx, e.bob, "box", time.Minute, control.Settled)
			wantCode(t, err, codepod.ENOTFOUND)
		})
	})
}

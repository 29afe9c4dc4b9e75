package control_test

import (
	"testing"
	"time"

	"github.com/coder/quartz"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

func TestTTLReaper(t *testing.T) {
	t.Parallel() // waits on timeouts, not on the CPU
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		e.run(e.svc)
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.create(e.alice, "short", codepod.SandboxSpec{TTL: time.Second})
		e.ok(r, e.pollOne(r, wire.KindCreate, sb.ID))
		keep := e.create(e.alice, "long", codepod.SandboxSpec{TTL: time.Hour})

		j := e.poll(r, wire.PollRequest{WaitSeconds: 5})
		if len(j) == 1 && j[0].SandboxID == keep.ID {
			e.ok(r, j[0])
			j = e.poll(r, wire.PollRequest{WaitSeconds: 5})
		}
		if len(j) != 1 || j[0].Kind != wire.KindDelete || j[0].SandboxID != sb.ID {
			t.Fatalf("after the TTL, poll = %s; want the delete job of %s", describe(j), sb.ID)
		}
		e.ok(r, j[0])
		e.wantStatus(sb.ID, codepod.SandboxDeleted, "")
		if st := e.get(keep.ID).Status; st == codepod.SandboxDeleted || st == codepod.SandboxDeleting {
			t.Fatalf("the sandbox with a 1h TTL is %s", st)
		}
	})
}

func TestTTLSurvivesARestart(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		cfg := testConfig()
		cfg.Clock = clock
		e := newEnv(t, url, cfg)
		sb := e.create(e.alice, "short", codepod.SandboxSpec{TTL: time.Second}) // no runner: pending
		clock.Advance(1100 * time.Millisecond).MustWait(e.ctx)                  // nobody runs the first Service's loop

		// A new server on the same database; its loop's first tick reaps.
		restarted := control.New(openStore(t, url), cfg)
		e.run(restarted)
		eventually(t, 3*time.Second, "the expired sandbox deleted", func() bool {
			return e.get(sb.ID).Status == codepod.SandboxDeleted
		})
	})
}

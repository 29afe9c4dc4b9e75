package control_test

import (
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// reportPools polls once for r with its warm pools (claiming what is due,
// as any poll does).
func (e *env) reportPools(r *codepod.Runner, pools ...wire.WarmPool) {
	e.t.Helper()
	e.pollUnheld(r, wire.PollRequest{WarmPools: pools})
}

func TestACreateThatMatchesAWarmPoolGoesToItsRunnerOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		cold := e.runner("cold", nil, wire.Capacity{})
		warm := e.runner("warm", nil, wire.Capacity{})
		d := codepod.DefaultLimits
		pool := wire.WarmPool{Image: codepod.TinyImage, CPU: d.DefaultCPU, MemoryBytes: d.DefaultMemory,
			Network: codepod.NetworkNone, Runtime: codepod.RuntimeRunc, Size: 1, Ready: 1}
		e.reportPools(warm, pool)

		// Both runners are empty; the one with a ready match wins.
		first := e.create(e.alice, "first", codepod.SandboxSpec{Image: codepod.TinyImage})
		if first.RunnerID != warm.ID {
			t.Fatalf("matching create placed on %q; want the warm runner %s", first.RunnerID, warm.ID)
		}
		// Its one ready sandbox is counted as taken: the next create is
		// placed by load again (the cold runner is emptier).
		second := e.create(e.alice, "second", codepod.SandboxSpec{Image: codepod.TinyImage})
		if second.RunnerID != cold.ID {
			t.Fatalf("second create placed on %q; want the emptier %s", second.RunnerID, cold.ID)
		}
		pools, err := e.st.WarmPools(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := pools[warm.ID]; len(got) != 1 || got[0].Ready != 0 || got[0].Size != 1 {
			t.Fatalf("warm runner's pools after one adoption: %+v", got)
		}
		// A create with its own environment is served by a pool too (the
		// runner hands the variables to the adopted sandbox's sessions).
		e.reportPools(warm, pool)
		withEnv := e.create(e.alice, "env", codepod.SandboxSpec{Image: codepod.TinyImage, Env: map[string]string{"A": "b"}})
		if withEnv.RunnerID != warm.ID {
			t.Fatalf("create with env placed on %q; want the warm runner %s", withEnv.RunnerID, warm.ID)
		}
		if pools, _ := e.st.WarmPools(e.ctx); pools[warm.ID][0].Ready != 0 {
			t.Fatalf("a create with env did not count on the warm sandbox: %+v", pools[warm.ID])
		}
		// One with a pids limit of its own never counts on a pool.
		e.reportPools(warm, pool)
		withPids := e.create(e.alice, "pids", codepod.SandboxSpec{Image: codepod.TinyImage, PidsLimit: 77})
		if withPids.RunnerID != cold.ID && withPids.RunnerID != warm.ID {
			t.Fatalf("create with a pids limit not placed: %+v", withPids)
		}
		if pools, _ := e.st.WarmPools(e.ctx); pools[warm.ID][0].Ready != 1 {
			t.Fatalf("a create with its own pids limit took a warm sandbox: %+v", pools[warm.ID])
		}
	})
}

func TestTakeWarmIsConditional(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("warm", nil, wire.Capacity{})
		p := codepod.WarmPool{Image: codepod.TinyImage, CPU: 1, MemoryBytes: 512 << 20, Network: "none", Runtime: "runc", Size: 2, Ready: 1}
		if err := e.st.SetWarmPools(e.ctx, r.ID, []codepod.WarmPool{p}); err != nil {
			t.Fatal(err)
		}
		results := make(chan bool, 4)
		for range 4 {
			go func() {
				ok, err := e.st.TakeWarm(e.ctx, r.ID, p.Key())
				if err != nil {
					t.Error(err)
				}
				results <- ok
			}()
		}
		taken := 0
		for range 4 {
			if <-results {
				taken++
			}
		}
		if taken != 1 {
			t.Fatalf("%d takes of one ready sandbox succeeded; want 1", taken)
		}
	})
}

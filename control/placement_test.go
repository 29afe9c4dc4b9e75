package control_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

func TestCapacityIsRespected(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		small := e.runner("small", nil, wire.Capacity{Sandboxes: 1})
		first := e.create(e.alice, "first", codepod.SandboxSpec{})
		second := e.create(e.alice, "second", codepod.SandboxSpec{})
		if first.RunnerID != small.ID {
			t.Fatalf("first sandbox on %q; want %s", first.RunnerID, small.ID)
		}
		if second.RunnerID != "" || !strings.Contains(second.Reason, "free capacity") {
			t.Fatalf("second sandbox on %q (%q); want pending for capacity", second.RunnerID, second.Reason)
		}
		e.ok(small, e.pollOne(small, wire.KindCreate, first.ID))
		if jobs := e.pollNow(small); len(jobs) != 0 {
			t.Fatalf("a full runner got %s", describe(jobs))
		}
		e.wantStatus(second.ID, codepod.SandboxPending, "free capacity")

		big := e.runner("big", nil, wire.Capacity{})
		e.pollOne(big, wire.KindCreate, second.ID)
	})
}

func TestMemoryCapacity(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{MemoryBytes: 1 << 30})
		spec := codepod.SandboxSpec{MemoryBytes: 512 << 20}
		a, b, c := e.create(e.alice, "a", spec), e.create(e.alice, "b", spec), e.create(e.alice, "c", spec)
		if a.RunnerID != r.ID || b.RunnerID != r.ID || c.RunnerID != "" {
			t.Fatalf("placed on %q, %q, %q; want two on %s and the third pending", a.RunnerID, b.RunnerID, c.RunnerID, r.ID)
		}
		// Deleting one frees room: the next poll places the third.
		if _, err := e.svc.DeleteSandbox(e.ctx, e.alice, "a"); err != nil {
			t.Fatal(err)
		}
		for _, j := range e.poll(r, wire.PollRequest{WaitSeconds: 1, MaxJobs: 10}) {
			e.ok(r, j)
		}
		jobs := e.poll(r, wire.PollRequest{WaitSeconds: 2})
		if len(jobs) != 1 || jobs[0].SandboxID != c.ID {
			t.Fatalf("after freeing memory, poll = %s; want the create job of %s", describe(jobs), c.ID)
		}
	})
}

func TestRunnerLabels(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		plain := e.runner("plain", nil, wire.Capacity{})
		gpu := e.runner("gpu", map[string]string{"gpu": "yes", "zone": "a"}, wire.Capacity{})

		sb := e.create(e.alice, "trainer", codepod.SandboxSpec{RunnerLabels: map[string]string{"gpu": "yes"}})
		if sb.RunnerID != gpu.ID {
			t.Fatalf("sandbox asking for gpu=yes placed on %q; want %s", sb.RunnerID, gpu.ID)
		}
		far := e.create(e.alice, "far", codepod.SandboxSpec{RunnerLabels: map[string]string{"zone": "b", "gpu": "yes"}})
		if far.RunnerID != "" || far.Reason != "no online runner has labels gpu=yes,zone=b" {
			t.Fatalf("sandbox asking for zone=b: runner %q, reason %q", far.RunnerID, far.Reason)
		}
		// Unlabelled sandboxes go to the least loaded runner: plain first
		// (gpu hosts the trainer), then they spread evenly.
		if a := e.create(e.alice, "a", codepod.SandboxSpec{}); a.RunnerID != plain.ID {
			t.Fatalf("first unlabelled sandbox on %q; want the empty runner %s", a.RunnerID, plain.ID)
		}
		on := map[string]int{}
		for _, name := range []string{"b", "c", "d", "e"} {
			on[e.create(e.alice, name, codepod.SandboxSpec{}).RunnerID]++
		}
		if on[plain.ID] != 2 || on[gpu.ID] != 2 {
			t.Fatalf("four more sandboxes spread %v; want 2 on each runner", on)
		}
		later := e.runner("zone-b", map[string]string{"zone": "b", "gpu": "yes"}, wire.Capacity{})
		e.pollOne(later, wire.KindCreate, far.ID)
	})
}

// A gVisor sandbox waits for a runner whose engine has gVisor, and the
// create job tells the runner to use it; runc sandboxes go anywhere.
func TestRuntimePlacement(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		plain := e.runner("plain", nil, wire.Capacity{}) // reports no runtimes: runc only
		sb := e.create(e.alice, "guarded", codepod.SandboxSpec{Runtime: codepod.RuntimeGVisor})
		if sb.RunnerID != "" || !strings.Contains(sb.Reason, "gvisor runtime") {
			t.Fatalf("gvisor sandbox with only a runc runner: runner %q, reason %q", sb.RunnerID, sb.Reason)
		}
		// An unknown runtime is refused at create.
		_, err := e.svc.CreateSandbox(e.ctx, e.alice, "kata", codepod.SandboxSpec{Runtime: "kata"})
		wantErr(t, err, codepod.EINVALID, `runtime "kata" must be "runc" or "gvisor"`)
		d := e.create(e.alice, "default", codepod.SandboxSpec{})
		if d.Spec.Runtime != codepod.RuntimeRunc || d.RunnerID != plain.ID {
			t.Fatalf("a sandbox naming no runtime: runtime %q on %q (%s); want runc on %s", d.Spec.Runtime, d.RunnerID, d.Reason, plain.ID)
		}
		if got := e.pollNow(plain); len(got) != 1 || got[0].Kind != wire.KindCreate || got[0].SandboxID != d.ID {
			t.Fatalf("the runc runner got %s; want only the runc sandbox's create", describe(got))
		}
		// The runner's engine gains gVisor: its next poll says so, and the
		// sandbox is placed there with the runtime in its create job.
		jobs := e.poll(plain, wire.PollRequest{WaitSeconds: 2, Runtimes: []string{codepod.RuntimeRunc, codepod.RuntimeGVisor}})
		i := slices.IndexFunc(jobs, func(j wire.Job) bool { return j.Kind == wire.KindCreate && j.SandboxID == sb.ID })
		if i < 0 || jobs[i].Sandbox == nil || jobs[i].Sandbox.Runtime != codepod.RuntimeGVisor {
			t.Fatalf("poll with gvisor = %s; want the create of %s with runtime gvisor", describe(jobs), sb.ID)
		}
		if r, err := e.st.Runner(e.ctx, plain.ID); err != nil || !slices.Equal(r.Runtimes, []string{codepod.RuntimeRunc, codepod.RuntimeGVisor}) {
			t.Fatalf("runner runtimes after the poll: %+v, %v", r, err)
		}
	})
}

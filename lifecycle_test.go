package codepod_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

func TestTransition(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	on := func(st codepod.SandboxStatus) codepod.Sandbox {
		return codepod.Sandbox{Name: "box", Status: st, RunnerID: "r1", UpdatedAt: past}
	}
	unplaced := func(st codepod.SandboxStatus) codepod.Sandbox {
		return codepod.Sandbox{Name: "box", Status: st, UpdatedAt: past}
	}
	expiring := func(sb codepod.Sandbox, at time.Time) codepod.Sandbox { sb.ExpiresAt = &at; return sb }
	withReason := func(sb codepod.Sandbox, r string) codepod.Sandbox { sb.Reason = r; return sb }
	changedAt := func(sb codepod.Sandbox, at time.Time) codepod.Sandbox { sb.UpdatedAt = at; return sb }
	ev := func(kind codepod.EventKind, job codepod.JobKind) codepod.Event {
		return codepod.Event{Kind: kind, Job: job, RunnerID: "r1", RunnerName: "big", Now: now}
	}
	inv := func(c codepod.ContainerState) codepod.Event {
		e := ev(codepod.EventReconcile, "")
		e.Container = c
		return e
	}
	why := func(e codepod.Event, msg string) codepod.Event { e.Message = msg; return e }
	const none = codepod.SandboxStatus("") // no change
	for _, tc := range []struct {
		name     string
		sb       codepod.Sandbox
		ev       codepod.Event
		want     codepod.SandboxStatus // none: nothing changes
		jobs     []codepod.JobKind
		runner   string // the runner after the change ("-": unplaced)
		reason   string // a substring of the reason (or of the error)
		conflict bool
		cancel   bool
	}{
		{name: "stop running", sb: on(codepod.SandboxRunning), ev: ev(codepod.EventStop, ""), want: codepod.SandboxStopping, jobs: []codepod.JobKind{codepod.JobStop}},
		{name: "stop stopped", sb: on(codepod.SandboxStopped), ev: ev(codepod.EventStop, ""), conflict: true, reason: "stopped already"},
		{name: "stop creating", sb: on(codepod.SandboxCreating), ev: ev(codepod.EventStop, ""), conflict: true, reason: "box is creating; wait until it is running, then stop it"},
		{name: "stop lost", sb: withReason(on(codepod.SandboxLost), "runner big went offline"), ev: ev(codepod.EventStop, ""), conflict: true, reason: "wait until its runner is back"},
		{name: "stop lost for good", sb: withReason(unplaced(codepod.SandboxLost), "runner big was deleted"), ev: ev(codepod.EventStop, ""), conflict: true, reason: "delete it and create a new one"},
		{name: "stop error unplaced", sb: unplaced(codepod.SandboxError), ev: ev(codepod.EventStop, ""), conflict: true, reason: "delete it and create a new one"},
		{name: "stop deleting", sb: on(codepod.SandboxDeleting), ev: ev(codepod.EventStop, ""), conflict: true, reason: "being deleted"},
		{name: "start stopped", sb: on(codepod.SandboxStopped), ev: ev(codepod.EventStart, ""), want: codepod.SandboxStarting, jobs: []codepod.JobKind{codepod.JobStart}},
		{name: "start error placed", sb: on(codepod.SandboxError), ev: ev(codepod.EventStart, ""), want: codepod.SandboxStarting, jobs: []codepod.JobKind{codepod.JobStart}},
		{name: "start error unplaced", sb: unplaced(codepod.SandboxError), ev: ev(codepod.EventStart, ""), conflict: true, reason: "delete it and create a new one"},
		{name: "start stopping", sb: on(codepod.SandboxStopping), ev: ev(codepod.EventStart, ""), conflict: true, reason: "start it once it is stopped"},
		{name: "start pending", sb: unplaced(codepod.SandboxPending), ev: ev(codepod.EventStart, ""), conflict: true, reason: "starts by itself"},
		{name: "delete placed", sb: on(codepod.SandboxRunning), ev: ev(codepod.EventDelete, ""), want: codepod.SandboxDeleting, jobs: []codepod.JobKind{codepod.JobDelete}, cancel: true},
		{name: "delete unplaced", sb: unplaced(codepod.SandboxPending), ev: ev(codepod.EventDelete, ""), want: codepod.SandboxDeleted, runner: "-", cancel: true},
		{name: "delete deleting", sb: on(codepod.SandboxDeleting), ev: ev(codepod.EventDelete, "")},
		{name: "delete deleted", sb: on(codepod.SandboxDeleted), ev: ev(codepod.EventDelete, "")},
		{name: "expire due", sb: expiring(on(codepod.SandboxStopped), past), ev: ev(codepod.EventExpire, ""), want: codepod.SandboxDeleting, jobs: []codepod.JobKind{codepod.JobDelete}, cancel: true},
		{name: "expire not due", sb: expiring(on(codepod.SandboxStopped), future), ev: ev(codepod.EventExpire, "")},
		{name: "expire no ttl", sb: on(codepod.SandboxStopped), ev: ev(codepod.EventExpire, "")},
		{name: "place", sb: unplaced(codepod.SandboxPending), ev: ev(codepod.EventPlace, ""), want: codepod.SandboxPending, runner: "r1", jobs: []codepod.JobKind{codepod.JobCreate}},
		{name: "place twice", sb: on(codepod.SandboxPending), ev: ev(codepod.EventPlace, "")},
		{name: "place nowhere", sb: unplaced(codepod.SandboxPending), ev: codepod.Event{Kind: codepod.EventPlace, Message: "no room"}, want: codepod.SandboxPending, runner: "-", reason: "no room"},
		{name: "place nowhere again", sb: withReason(unplaced(codepod.SandboxPending), "no room"), ev: codepod.Event{Kind: codepod.EventPlace, Message: "no room"}},
		{name: "place deleted meanwhile", sb: unplaced(codepod.SandboxDeleted), ev: ev(codepod.EventPlace, "")},
		{name: "create leased", sb: on(codepod.SandboxPending), ev: ev(codepod.EventLeased, codepod.JobCreate), want: codepod.SandboxCreating},
		{name: "start leased after loss", sb: on(codepod.SandboxLost), ev: ev(codepod.EventLeased, codepod.JobStart), want: codepod.SandboxStarting},
		{name: "stop leased while stopping", sb: on(codepod.SandboxStopping), ev: ev(codepod.EventLeased, codepod.JobStop)},
		{name: "leased on another runner", sb: on(codepod.SandboxPending), ev: codepod.Event{Kind: codepod.EventLeased, Job: codepod.JobCreate, RunnerID: "r2"}},
		{name: "create ok", sb: on(codepod.SandboxCreating), ev: codepod.Event{Kind: codepod.EventJobDone, Job: codepod.JobCreate, RunnerID: "r1", HostKeyFingerprint: "SHA256:x"}, want: codepod.SandboxRunning},
		{name: "stop ok", sb: on(codepod.SandboxStopping), ev: ev(codepod.EventJobDone, codepod.JobStop), want: codepod.SandboxStopped},
		{name: "delete ok", sb: on(codepod.SandboxDeleting), ev: ev(codepod.EventJobDone, codepod.JobDelete), want: codepod.SandboxDeleted},
		{name: "stop ok while deleting", sb: on(codepod.SandboxDeleting), ev: ev(codepod.EventJobDone, codepod.JobStop)},
		{name: "delete ok while running", sb: on(codepod.SandboxRunning), ev: ev(codepod.EventJobDone, codepod.JobDelete)},
		{name: "result from old runner", sb: on(codepod.SandboxCreating), ev: codepod.Event{Kind: codepod.EventJobDone, Job: codepod.JobCreate, RunnerID: "r2"}},
		{name: "create failed", sb: on(codepod.SandboxCreating), ev: codepod.Event{Kind: codepod.EventJobFailed, Job: codepod.JobCreate, RunnerID: "r1", Message: "no such image"}, want: codepod.SandboxError, reason: "no such image"},
		{name: "start failed silently", sb: on(codepod.SandboxStarting), ev: ev(codepod.EventJobFailed, codepod.JobStart), want: codepod.SandboxError, reason: "start failed on the runner"},
		{name: "inventory running", sb: on(codepod.SandboxStopped), ev: inv(codepod.ContainerRunning), want: codepod.SandboxRunning},
		{name: "inventory stopped", sb: on(codepod.SandboxRunning), ev: inv(codepod.ContainerStopped), want: codepod.SandboxStopped},
		{name: "inventory OOM-killed", sb: on(codepod.SandboxRunning), ev: why(inv(codepod.ContainerStopped), "the sandbox ran out of memory (limit 32 MiB)"), want: codepod.SandboxStopped, reason: "ran out of memory"},
		{name: "inventory keeps a user's clean stop", sb: on(codepod.SandboxStopped), ev: why(inv(codepod.ContainerStopped), "the sandbox ran out of memory (limit 32 MiB)")},
		{name: "inventory missing", sb: on(codepod.SandboxRunning), ev: inv(codepod.ContainerMissing), want: codepod.SandboxError, reason: "container disappeared from runner big"},
		{name: "inventory: a late devcontainer hook failed", sb: on(codepod.SandboxRunning), ev: why(inv(codepod.ContainerFailed), "devcontainer postCreateCommand \"npm ci\" failed: exit 1; last output: E404"), want: codepod.SandboxError, reason: "postCreateCommand \"npm ci\" failed: exit 1; last output: E404"},
		{name: "inventory: failed, stopped meanwhile", sb: on(codepod.SandboxStopped), ev: why(inv(codepod.ContainerFailed), "devcontainer postStartCommand failed"), want: codepod.SandboxError, reason: "postStartCommand failed"},
		{name: "inventory: failed, already error", sb: withReason(on(codepod.SandboxError), "devcontainer postStartCommand failed"), ev: why(inv(codepod.ContainerFailed), "devcontainer postStartCommand failed")},
		{name: "inventory: failed during a start", sb: on(codepod.SandboxStarting), ev: why(inv(codepod.ContainerFailed), "old failure")},
		{name: "inventory: failed, older than the change", sb: changedAt(on(codepod.SandboxRunning), now.Add(time.Millisecond)), ev: why(inv(codepod.ContainerFailed), "old failure")},
		{name: "inventory back from lost", sb: withReason(on(codepod.SandboxLost), "runner big went offline"), ev: inv(codepod.ContainerRunning), want: codepod.SandboxRunning},
		{name: "inventory agrees", sb: on(codepod.SandboxRunning), ev: inv(codepod.ContainerRunning)},
		{name: "inventory revives error", sb: withReason(on(codepod.SandboxError), "container disappeared"), ev: inv(codepod.ContainerRunning), want: codepod.SandboxRunning},
		{name: "inventory keeps error of a stopped container", sb: on(codepod.SandboxError), ev: inv(codepod.ContainerStopped)},
		{name: "inventory older than the change", sb: changedAt(on(codepod.SandboxRunning), now.Add(time.Millisecond)), ev: inv(codepod.ContainerMissing)},
		{name: "inventory after the loss", sb: changedAt(withReason(on(codepod.SandboxLost), "gone"), now.Add(time.Millisecond)), ev: inv(codepod.ContainerStopped), want: codepod.SandboxStopped},
		{name: "inventory during create", sb: on(codepod.SandboxCreating), ev: inv(codepod.ContainerMissing)},
		{name: "runner lost running", sb: on(codepod.SandboxRunning), ev: ev(codepod.EventRunnerLost, ""), want: codepod.SandboxLost, reason: "runner big went offline"},
		{name: "runner lost pending", sb: on(codepod.SandboxPending), ev: ev(codepod.EventRunnerLost, ""), want: codepod.SandboxPending, runner: "-", reason: "waiting for another runner", cancel: true},
		{name: "runner lost deleting", sb: on(codepod.SandboxDeleting), ev: ev(codepod.EventRunnerLost, "")},
		{name: "runner deleted pending", sb: on(codepod.SandboxPending), ev: ev(codepod.EventRunnerDeleted, ""), want: codepod.SandboxPending, runner: "-", reason: "waiting for another runner", cancel: true},
		{name: "runner deleted deleting", sb: on(codepod.SandboxDeleting), ev: ev(codepod.EventRunnerDeleted, ""), want: codepod.SandboxDeleted, runner: "-", reason: "may remain on that host", cancel: true},
		{name: "runner deleted running", sb: on(codepod.SandboxRunning), ev: ev(codepod.EventRunnerDeleted, ""), want: codepod.SandboxLost, runner: "-", reason: "runner big was deleted", cancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := tc.sb
			c, err := codepod.Transition(&sb, tc.ev)
			if tc.conflict {
				if codepod.ErrorCode(err) != codepod.ECONFLICT || !strings.Contains(codepod.ErrorMessage(err), tc.reason) {
					t.Fatalf("err = %v; want ECONFLICT containing %q", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == none {
				if c.Changed {
					t.Fatalf("change %+v; want none", c)
				}
				return
			}
			runner := tc.runner
			switch runner {
			case "":
				runner = sb.RunnerID
			case "-":
				runner = ""
			}
			if !c.Changed || c.Status != tc.want || c.RunnerID != runner || !slices.Equal(c.Jobs, tc.jobs) ||
				!strings.Contains(c.Reason, tc.reason) || c.CancelJobs != tc.cancel {
				t.Fatalf("change %+v; want %s on %q, jobs %v, reason ~%q, cancel %v", c, tc.want, runner, tc.jobs, tc.reason, tc.cancel)
			}
		})
	}
}

// TestTransitionNeverRevivesDeleted: no event moves a deleted sandbox.
func TestTransitionNeverRevivesDeleted(t *testing.T) {
	for _, kind := range []codepod.EventKind{codepod.EventStart, codepod.EventStop, codepod.EventDelete, codepod.EventExpire,
		codepod.EventPlace, codepod.EventLeased, codepod.EventJobDone, codepod.EventJobFailed, codepod.EventReconcile,
		codepod.EventRunnerLost, codepod.EventRunnerDeleted} {
		sb := codepod.Sandbox{Status: codepod.SandboxDeleted, RunnerID: "r1"}
		c, err := codepod.Transition(&sb, codepod.Event{Kind: kind, RunnerID: "r1", Job: codepod.JobCreate, Container: codepod.ContainerRunning})
		if err != nil || c.Changed {
			t.Errorf("%s on deleted: %+v, %v", kind, c, err)
		}
	}
}

// TestArchitectureDocShowsTheStateMachine fails when docs/architecture.md
// no longer shows what TransitionTableMarkdown generates. Regenerate with
// CODEPOD_UPDATE_DOCS=1 go test -run TestArchitectureDoc .
func TestArchitectureDocShowsTheStateMachine(t *testing.T) {
	const path = "docs/architecture.md"
	const begin, end = "<!-- state-machine:begin (generated by codepod.TransitionTableMarkdown) -->\n", "<!-- state-machine:end -->"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated state-machine section (%q … %q)", path, begin, end)
	}
	want := codepod.TransitionTableMarkdown()
	if got := doc[i+len(begin) : j]; got != want {
		if os.Getenv("CODEPOD_UPDATE_DOCS") != "" {
			if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s's state machine differs from the code; run CODEPOD_UPDATE_DOCS=1 go test -run TestArchitectureDoc .", path)
	}
}

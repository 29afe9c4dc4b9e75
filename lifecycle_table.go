package codepod

import (
	"fmt"
	"strings"
	"time"
)

// tableEvents are the events the state-machine table shows, each with a
// label; the runner that reports is the sandbox's own ("r1").
var tableEvents = []struct {
	label string
	ev    Event
}{
	{"user start", Event{Kind: EventStart}},
	{"user stop", Event{Kind: EventStop}},
	{"user delete", Event{Kind: EventDelete}},
	{"TTL expired", Event{Kind: EventExpire, Now: tableNow.Add(time.Hour)}},
	{"placed on r1", Event{Kind: EventPlace, RunnerID: "r1"}},
	{"create leased", Event{Kind: EventLeased, Job: JobCreate, RunnerID: "r1"}},
	{"start leased", Event{Kind: EventLeased, Job: JobStart, RunnerID: "r1"}},
	{"stop leased", Event{Kind: EventLeased, Job: JobStop, RunnerID: "r1"}},
	{"create ok", Event{Kind: EventJobDone, Job: JobCreate, RunnerID: "r1"}},
	{"start ok", Event{Kind: EventJobDone, Job: JobStart, RunnerID: "r1"}},
	{"stop ok", Event{Kind: EventJobDone, Job: JobStop, RunnerID: "r1"}},
	{"delete ok", Event{Kind: EventJobDone, Job: JobDelete, RunnerID: "r1"}},
	{"create/start/stop failed", Event{Kind: EventJobFailed, Job: JobCreate, RunnerID: "r1", Message: "boom"}},
	{"delete failed", Event{Kind: EventJobFailed, Job: JobDelete, RunnerID: "r1", Message: "boom"}},
	{"inventory: running", Event{Kind: EventReconcile, RunnerID: "r1", RunnerName: "r1", Container: ContainerRunning, Now: tableNow}},
	{"inventory: stopped", Event{Kind: EventReconcile, RunnerID: "r1", RunnerName: "r1", Container: ContainerStopped, Now: tableNow}},
	{"inventory: failed", Event{Kind: EventReconcile, RunnerID: "r1", RunnerName: "r1", Container: ContainerFailed, Message: "devcontainer postCreateCommand failed", Now: tableNow}},
	{"inventory: missing", Event{Kind: EventReconcile, RunnerID: "r1", RunnerName: "r1", Container: ContainerMissing, Now: tableNow}},
	{"runner lost", Event{Kind: EventRunnerLost, RunnerID: "r1", RunnerName: "r1"}},
	{"runner deleted", Event{Kind: EventRunnerDeleted, RunnerID: "r1", RunnerName: "r1"}},
}

var tableNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// tableSandboxes are the starting points of the table: every status, placed
// on r1, plus a pending and an error sandbox that were never placed.
func tableSandboxes() []struct {
	label string
	sb    Sandbox
} {
	exp := tableNow
	var out []struct {
		label string
		sb    Sandbox
	}
	add := func(label string, st SandboxStatus, runner string) {
		out = append(out, struct {
			label string
			sb    Sandbox
		}{label, Sandbox{Name: "box", Status: st, RunnerID: runner, Reason: "why", UpdatedAt: tableNow.Add(-time.Minute), ExpiresAt: &exp}})
	}
	add("pending (unplaced)", SandboxPending, "")
	for _, st := range SandboxStatuses {
		add(string(st), st, "r1")
	}
	add("error (unplaced)", SandboxError, "")
	return out
}

// TransitionTableMarkdown renders what Transition does, as a Markdown table:
// one row per starting status and event that changes something or is
// refused. It is generated from Transition itself, so the documentation
// cannot drift from the code (a test compares it with docs/architecture.md).
func TransitionTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| from | event | to | jobs enqueued | notes |\n|---|---|---|---|---|\n")
	for _, s := range tableSandboxes() {
		for _, e := range tableEvents {
			sb := s.sb
			c, err := Transition(&sb, e.ev)
			switch {
			case err != nil:
				fmt.Fprintf(&b, "| %s | %s | refused (409) | | %s |\n", s.label, e.label, ErrorMessage(err))
			case c.Changed:
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.label, e.label, tableStatus(c), tableJobs(c.Jobs), tableNotes(sb, c))
			}
		}
	}
	b.WriteString("\nAny pair not listed changes nothing (a stale or repeated event).\n")
	return b.String()
}

func tableStatus(c Change) string {
	if c.Status == SandboxPending && c.RunnerID == "" {
		return "pending (unplaced)"
	}
	return string(c.Status)
}

func tableJobs(jobs []JobKind) string {
	s := make([]string, len(jobs))
	for i, j := range jobs {
		s[i] = string(j)
	}
	return strings.Join(s, ", ")
}

func tableNotes(sb Sandbox, c Change) string {
	var notes []string
	if c.CancelJobs {
		notes = append(notes, "unfinished jobs cancelled")
	}
	if c.Reason != "" && c.Reason != sb.Reason {
		notes = append(notes, "reason: "+c.Reason)
	}
	return strings.Join(notes, "; ")
}

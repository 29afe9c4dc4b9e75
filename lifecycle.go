package codepod

import (
	"fmt"
	"time"
)

// EventKind names something that happens to a sandbox. Every change of a
// sandbox's status goes through Transition with one of these.
type EventKind string

const (
	EventStart  EventKind = "start"  // a user asks to start it
	EventStop   EventKind = "stop"   // a user asks to stop it
	EventDelete EventKind = "delete" // a user asks to delete it
	EventExpire EventKind = "expire" // its TTL ran out (Event.Now)
	// EventPlace places a pending sandbox on Event.RunnerID, or, with no
	// runner, records in Event.Message why it keeps waiting.
	EventPlace EventKind = "place"
	// EventLeased: a runner (Event.RunnerID) leased a job (Event.Job).
	EventLeased EventKind = "leased"
	// EventJobDone and EventJobFailed: a runner reported a job's result.
	EventJobDone   EventKind = "job_done"
	EventJobFailed EventKind = "job_failed"
	// EventReconcile: the runner's inventory, taken at Event.Now, shows the
	// container in Event.Container.
	EventReconcile EventKind = "reconcile"
	// EventRunnerLost and EventRunnerDeleted: the sandbox's runner went
	// offline, or an admin deleted it.
	EventRunnerLost    EventKind = "runner_lost"
	EventRunnerDeleted EventKind = "runner_deleted"
)

// ContainerState is what a runner's inventory says of a sandbox's container.
type ContainerState string

const (
	ContainerRunning ContainerState = "running"
	ContainerStopped ContainerState = "stopped"
	ContainerMissing ContainerState = "missing"
	// ContainerFailed: the runner stopped the container because what runs
	// in it failed (a devcontainer hook after the sandbox was ready);
	// Event.Message says why. The sandbox goes to error.
	ContainerFailed ContainerState = "failed"
)

// Event is one thing that happened to a sandbox, with what the rules need.
type Event struct {
	Kind       EventKind
	Job        JobKind        // leased, job_done, job_failed
	RunnerID   string         // the runner that reports (or, for place, the target; "" when none fits)
	RunnerName string         // for reasons
	Message    string         // a job's error, why a sandbox waits, or why its container stopped (reconcile)
	Container  ContainerState // reconcile
	// HostKeyFingerprint is the agent's host key a create/start result or
	// an inventory reports.
	HostKeyFingerprint string
	// Now is when the event happened: an expiry compares it with ExpiresAt;
	// a reconcile ignores sandboxes changed after it (its inventory is older
	// than their change).
	Now time.Time
}

// Change is what an event does to a sandbox: its new fields, whether its
// unfinished jobs are cancelled, and the jobs to enqueue on its (new) runner.
// A zero Change (Changed false) writes nothing.
type Change struct {
	Changed            bool
	Status             SandboxStatus
	Reason             string
	RunnerID           string
	HostKeyFingerprint string
	CancelJobs         bool
	Jobs               []JobKind
}

// MaxReasonBytes bounds a sandbox's reason.
const MaxReasonBytes = 4096

// Transition is the sandbox lifecycle: every rule of every status change in
// one pure function. Given a sandbox and an event it returns the change to
// write (maybe none), or an ECONFLICT *Error saying what the user can do.
func Transition(sb *Sandbox, ev Event) (Change, error) {
	c := Change{Status: sb.Status, Reason: sb.Reason, RunnerID: sb.RunnerID, HostKeyFingerprint: sb.HostKeyFingerprint}
	if sb.Status == SandboxDeleted {
		return Change{}, nil // nothing moves a deleted sandbox
	}
	switch ev.Kind {
	case EventStart, EventStop:
		return userAction(sb, ev.Kind, c)
	case EventDelete:
		return deleteChange(sb, c), nil
	case EventExpire:
		if sb.ExpiresAt == nil || sb.ExpiresAt.After(ev.Now) {
			return Change{}, nil
		}
		return deleteChange(sb, c), nil
	case EventPlace:
		return place(sb, ev, c), nil
	case EventLeased:
		return leased(sb, ev, c), nil
	case EventJobDone, EventJobFailed:
		return jobResult(sb, ev, c), nil
	case EventReconcile:
		return reconcile(sb, ev, c), nil
	case EventRunnerLost:
		return runnerLost(sb, ev, c), nil
	case EventRunnerDeleted:
		return runnerDeleted(sb, ev, c), nil
	}
	return Change{}, Errorf(EINVALID, "unknown sandbox event %q", ev.Kind)
}

func (c Change) to(st SandboxStatus, reason string, jobs ...JobKind) Change {
	c.Changed, c.Status, c.Reason, c.Jobs = true, st, TruncateUTF8(reason, MaxReasonBytes), jobs
	return c
}

func userAction(sb *Sandbox, kind EventKind, c Change) (Change, error) {
	st := sb.Status
	switch {
	case kind == EventStop && st == SandboxRunning:
		return c.to(SandboxStopping, "", JobStop), nil
	case kind == EventStart && (st == SandboxStopped || (st == SandboxError && sb.RunnerID != "")):
		return c.to(SandboxStarting, "", JobStart), nil
	}
	return Change{}, Errorf(ECONFLICT, "%s", conflictMessage(sb, kind))
}

// conflictMessage says why kind cannot happen now, and what to do instead.
func conflictMessage(sb *Sandbox, kind EventKind) string {
	n, st := sb.Name, sb.Status
	switch {
	case kind == EventStop && (st == SandboxStopped || st == SandboxStopping),
		kind == EventStart && (st == SandboxRunning || st == SandboxStarting):
		return fmt.Sprintf("sandbox %s is %s already", n, st)
	case st == SandboxStopping:
		return fmt.Sprintf("sandbox %s is stopping; start it once it is stopped", n)
	case kind == EventStart && (st == SandboxPending || st == SandboxCreating):
		return fmt.Sprintf("sandbox %s is %s; it starts by itself once it is created", n, st)
	case st == SandboxPending || st == SandboxCreating || st == SandboxStarting:
		return fmt.Sprintf("sandbox %s is %s; wait until it is running, then stop it", n, st)
	case st == SandboxLost && sb.RunnerID == "":
		return fmt.Sprintf("sandbox %s is lost (%s); delete it and create a new one", n, sb.Reason)
	case st == SandboxLost:
		return fmt.Sprintf("sandbox %s is lost (%s); wait until its runner is back, or delete it", n, sb.Reason)
	case st == SandboxError && sb.RunnerID == "":
		return fmt.Sprintf("sandbox %s failed before it was placed (%s); delete it and create a new one", n, sb.Reason)
	case st == SandboxError && kind == EventStop:
		return fmt.Sprintf("sandbox %s is in error (%s); start it or delete it", n, sb.Reason)
	case st == SandboxDeleting:
		return fmt.Sprintf("sandbox %s is being deleted", n)
	}
	return fmt.Sprintf("sandbox %s is %s; it cannot %s now", n, st, kind)
}

// deleteChange: a placed sandbox becomes deleting (its other jobs are
// cancelled) until its runner removes the container; one never placed is
// deleted at once; one being deleted stays so.
func deleteChange(sb *Sandbox, c Change) Change {
	switch {
	case sb.Status == SandboxDeleting:
		return Change{}
	case sb.RunnerID == "":
		c = c.to(SandboxDeleted, "")
		c.CancelJobs = true
		return c
	}
	c = c.to(SandboxDeleting, "", JobDelete)
	c.CancelJobs = true
	return c
}

// place puts a pending, unplaced sandbox on a runner with a create job, or
// updates why it waits.
func place(sb *Sandbox, ev Event, c Change) Change {
	if sb.Status != SandboxPending || sb.RunnerID != "" {
		return Change{} // placed or moved on meanwhile
	}
	if ev.RunnerID == "" {
		if ev.Message == sb.Reason {
			return Change{}
		}
		return c.to(SandboxPending, ev.Message)
	}
	c.RunnerID = ev.RunnerID
	return c.to(SandboxPending, "", JobCreate)
}

// leasedStatus is the status a sandbox shows while a job of that kind runs.
var leasedStatus = map[JobKind]SandboxStatus{
	JobCreate: SandboxCreating,
	JobStart:  SandboxStarting,
	JobStop:   SandboxStopping,
}

// leased: a create, start or stop job leased for a sandbox that is pending,
// lost or in error moves it to creating, starting or stopping.
func leased(sb *Sandbox, ev Event, c Change) Change {
	next, ok := leasedStatus[ev.Job]
	if !ok || sb.RunnerID != ev.RunnerID {
		return Change{}
	}
	switch sb.Status {
	case SandboxPending, SandboxLost, SandboxError:
		return c.to(next, "")
	}
	return Change{}
}

// resultStatus is where a successful job of each kind takes its sandbox.
var resultStatus = map[JobKind]SandboxStatus{
	JobCreate: SandboxRunning,
	JobStart:  SandboxRunning,
	JobStop:   SandboxStopped,
	JobDelete: SandboxDeleted,
}

// resultApplies reports whether a result of a job of kind may move a
// sandbox in status st: the status its job shows, or lost or error (the
// runner was away, or reconcile saw no container yet, while the job ran).
func resultApplies(kind JobKind, st SandboxStatus) bool {
	switch {
	case kind == JobDelete:
		return st == SandboxDeleting
	case st == leasedStatus[kind], st == SandboxLost, st == SandboxError:
		return true
	}
	return kind == JobCreate && st == SandboxPending
}

// jobResult applies a job's result. Results from a runner the sandbox is no
// longer on, and results a sandbox has moved past (see resultApplies),
// change nothing.
func jobResult(sb *Sandbox, ev Event, c Change) Change {
	next, ok := resultStatus[ev.Job]
	if !ok || sb.RunnerID != ev.RunnerID || !resultApplies(ev.Job, sb.Status) {
		return Change{}
	}
	if ev.Kind == EventJobFailed {
		reason := ev.Message
		if reason == "" {
			reason = fmt.Sprintf("%s failed on the runner", ev.Job)
		}
		return c.to(SandboxError, reason)
	}
	if ev.HostKeyFingerprint != "" {
		c.HostKeyFingerprint = ev.HostKeyFingerprint
	}
	return c.to(next, "")
}

// reconcile aligns a sandbox with its runner's inventory. A sandbox changed
// after the inventory was taken (UpdatedAt after ev.Now) is left alone: the
// inventory predates what changed it (a job result, say). A lost sandbox is
// the exception: what changed it last was the server marking it lost, which
// says nothing of its container, and a result since would have moved it out
// of lost. Sandboxes with a job under way are
// left to their job. A running, stopped or lost sandbox takes the state of
// its container, or becomes error when it is missing; one in error comes
// back to running when its container in fact runs. A running, stopped or
// lost sandbox whose container failed (the runner stopped it because a
// devcontainer hook failed) goes to error with the failure as the reason;
// one already in error stays as it is.
func reconcile(sb *Sandbox, ev Event, c Change) Change {
	stale := !ev.Now.IsZero() && sb.UpdatedAt.After(ev.Now) && sb.Status != SandboxLost
	if sb.RunnerID != ev.RunnerID || stale {
		return Change{}
	}
	var next SandboxStatus
	switch {
	case sb.Status == SandboxError && ev.Container == ContainerRunning:
		next = SandboxRunning
	case sb.Status != SandboxRunning && sb.Status != SandboxStopped && sb.Status != SandboxLost:
		return Change{}
	case ev.Container == ContainerMissing || ev.Container == "":
		return c.to(SandboxError, fmt.Sprintf("container disappeared from runner %s", ev.RunnerName))
	case ev.Container == ContainerFailed:
		if ev.HostKeyFingerprint != "" {
			c.HostKeyFingerprint = ev.HostKeyFingerprint
		}
		reason := ev.Message
		if reason == "" {
			reason = fmt.Sprintf("the sandbox failed on runner %s", ev.RunnerName)
		}
		return c.to(SandboxError, reason)
	case ev.Container == ContainerRunning:
		next = SandboxRunning
	default:
		next = SandboxStopped
	}
	if ev.HostKeyFingerprint != "" {
		c.HostKeyFingerprint = ev.HostKeyFingerprint
	}
	// A container that stopped by itself says why (an OOM kill, the agent
	// exiting); a sandbox already stopped keeps the reason it has.
	reason := ""
	if next == SandboxStopped {
		reason = ev.Message
		if sb.Status == SandboxStopped {
			reason = sb.Reason
		}
	}
	if next == sb.Status && sb.Reason == reason && c.HostKeyFingerprint == sb.HostKeyFingerprint {
		return Change{}
	}
	return c.to(next, reason)
}

// runnerLost: a pending sandbox on a runner that went offline goes back to
// placement (its create job is cancelled); one with a container there is
// lost until the runner is back.
func runnerLost(sb *Sandbox, ev Event, c Change) Change {
	if sb.RunnerID != ev.RunnerID || sb.RunnerID == "" {
		return Change{}
	}
	switch sb.Status {
	case SandboxPending:
		c.RunnerID = ""
		c = c.to(SandboxPending, fmt.Sprintf("runner %s went offline; waiting for another runner", ev.RunnerName))
		c.CancelJobs = true
		return c
	case SandboxRunning, SandboxStopped, SandboxCreating, SandboxStarting, SandboxStopping:
		return c.to(SandboxLost, fmt.Sprintf("runner %s went offline", ev.RunnerName))
	}
	return Change{}
}

// runnerDeleted: an admin deleted the sandbox's runner. A pending sandbox
// goes back to placement; one being deleted ends deleted, saying its
// container may remain on that host; any other becomes lost for good (no
// runner will report on it again), its reason saying so.
func runnerDeleted(sb *Sandbox, ev Event, c Change) Change {
	if sb.RunnerID != ev.RunnerID || sb.RunnerID == "" {
		return Change{}
	}
	c.RunnerID, c.CancelJobs = "", true
	switch sb.Status {
	case SandboxPending:
		return c.to(SandboxPending, fmt.Sprintf("runner %s was deleted; waiting for another runner", ev.RunnerName))
	case SandboxDeleting:
		return c.to(SandboxDeleted, fmt.Sprintf("runner %s was deleted before it removed the container; it may remain on that host", ev.RunnerName))
	}
	return c.to(SandboxLost, fmt.Sprintf("runner %s was deleted; its container may remain on that host; delete this sandbox", ev.RunnerName))
}

package codepod

import (
	"slices"
	"time"
)

// RunnerStatus tells whether a runner has been heard from recently.
type RunnerStatus string

const (
	RunnerOnline  RunnerStatus = "online"
	RunnerOffline RunnerStatus = "offline"
)

// Capacity is what a runner offers. Zero fields mean "no limit".
type Capacity struct {
	Sandboxes   int   `json:"sandboxes"`
	MemoryBytes int64 `json:"memory_bytes"`
}

// Runner is a machine that runs sandboxes on its Docker Engine. It dials the
// server; the server never dials it.
type Runner struct {
	ID       string
	Name     string
	Labels   map[string]string
	Capacity Capacity
	// Runtimes are the sandbox runtimes its engine has (RuntimeRunc,
	// RuntimeGVisor); a runner that reports none has runc.
	Runtimes []string
	// Workspaces are the workspaces whose sandboxes it may host (ids);
	// empty: every workspace (the default).
	Workspaces []string
	Version    string
	SecretHash []byte // SHA-256 of the runner's credential
	Status     RunnerStatus
	LastSeenAt time.Time
	CreatedAt  time.Time
}

// HasRuntime reports whether the runner can run sandboxes under rt ("" is
// runc).
func (r *Runner) HasRuntime(rt string) bool {
	if rt == "" {
		rt = RuntimeRunc
	}
	if len(r.Runtimes) == 0 {
		return rt == RuntimeRunc
	}
	for _, have := range r.Runtimes {
		if have == rt {
			return true
		}
	}
	return false
}

// Matches reports whether the runner carries every label in want.
func (r *Runner) Matches(want map[string]string) bool {
	for k, v := range want {
		if r.Labels[k] != v {
			return false
		}
	}
	return true
}

// Serves reports whether r may host a sandbox of workspace ws.
func (r *Runner) Serves(ws string) bool {
	return len(r.Workspaces) == 0 || ws == "" || slices.Contains(r.Workspaces, ws)
}

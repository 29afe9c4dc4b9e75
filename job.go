package codepod

import (
	"encoding/json"
	"time"
)

// JobKind names what a runner is asked to do.
type JobKind string

const (
	JobCreate JobKind = "create" // pull the image if needed, create and start the container
	JobStart  JobKind = "start"
	JobStop   JobKind = "stop"
	JobDelete JobKind = "delete" // remove the container and its host directory
	JobTunnel JobKind = "tunnel" // dial back to the server and connect a tunnel to the agent
	// JobNetwork applies a changed network policy to a running sandbox; it
	// changes no status (like a tunnel job).
	JobNetwork JobKind = "network"
	// JobNetLog reads what a sandbox's network policy refused (its result
	// carries the counts); it changes no status.
	JobNetLog JobKind = "netlog"
	// JobAgentUpgrade replaces a running sandbox's agent in place with the
	// runner's (its result carries the new agent's version).
	JobAgentUpgrade JobKind = "agent_upgrade"
)

// JobStatus is a job's place in the queue. A job is leased, not popped: a
// lease that expires puts it back to queued.
type JobStatus string

const (
	JobQueued JobStatus = "queued"
	JobLeased JobStatus = "leased"
	JobDone   JobStatus = "done"
	JobFailed JobStatus = "failed"
)

// Job is one unit of work for one runner.
type Job struct {
	ID             string
	Kind           JobKind
	SandboxID      string
	RunnerID       string
	Payload        json.RawMessage // kind-specific, see package wire
	Status         JobStatus
	LeaseExpiresAt *time.Time
	Attempts       int
	Error          string // set when Status is failed
	Result         json.RawMessage
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

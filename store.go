package codepod

import (
	"context"
	"time"
)

// Page asks for one page of a list. Cursor is opaque: pass back the
// NextCursor of the previous page; "" starts at the beginning.
type Page struct {
	Cursor string
	Limit  int // 0: the store's default (50); capped at 500
}

// SandboxFilter narrows ListSandboxes. Empty fields match everything.
type SandboxFilter struct {
	OwnerID string // "" only for admins
	// WorkspaceID keeps the sandboxes of one workspace ("": any, admins only).
	WorkspaceID string
	RunnerID    string            // sandboxes placed on this runner
	Status      []SandboxStatus   // any of these
	Labels      map[string]string // all of these
	// IncludeDeleted also returns sandboxes whose status is deleted.
	IncludeDeleted bool
	// Unplaced keeps only pending sandboxes placed on no runner yet (what
	// placement still has to place); it overrides Status and RunnerID.
	Unplaced bool
	Page
}

// SandboxUpdate changes some fields of a sandbox; nil fields stay as they are.
type SandboxUpdate struct {
	Status             *SandboxStatus
	Reason             *string
	RunnerID           *string
	HostKeyFingerprint *string
	ExpiresAt          **time.Time
	IdleAt             **time.Time
	// Spec replaces the sandbox's spec (a network policy change).
	Spec *SandboxSpec
	// CancelJobs, when set, marks the sandbox's queued and leased jobs
	// failed with this reason, in the same transaction.
	CancelJobs *string
	// At is the time of the change (UpdatedAt); zero: now.
	At time.Time
}

// ErrVersionConflict is what a conditional sandbox write returns when the
// sandbox changed since it was read: re-read it and apply the event again.
var ErrVersionConflict = &Error{Code: ECONFLICT, Message: "the sandbox changed meanwhile; try again"}

// Store is the server's only state. Every method takes a context first; every
// "not found" is an ENOTFOUND *Error, every unique clash an ECONFLICT *Error.
//
// Implementations must give the same behaviour on SQLite and PostgreSQL;
// package store does both and runs one conformance suite over them.
type Store interface {
	// InTx runs fn in one transaction: fn's store sees and writes only through
	// it, and everything fn did is rolled back if it returns an error.
	InTx(ctx context.Context, fn func(tx Store) error) error
	Close() error
	WebhookStore
	WorkspaceStore
	AuditStore

	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context, p Page) (users []User, next string, err error)
	CountUsers(ctx context.Context) (int, error)
	// UpdateUser changes the fields of u that are set and returns the user.
	UpdateUser(ctx context.Context, id string, u UserUpdate) (*User, error)
	// DeleteUser removes a user with their keys, SSH keys and deleted
	// sandboxes (and those sandboxes' jobs). A user who still has a sandbox
	// that is not deleted is an ECONFLICT.
	DeleteUser(ctx context.Context, id string) error
	// DeletingUsers returns up to limit users marked Deleting.
	DeletingUsers(ctx context.Context, limit int) ([]User, error)
	// QuotaUsage returns what workspaceID's sandboxes hold (those whose
	// status CountsAgainstQuota). Inside InTx on PostgreSQL it first locks
	// the workspace's row (SELECT … FOR UPDATE), so two creates in one
	// workspace count one after the other; on SQLite the single writer
	// does the same.
	QuotaUsage(ctx context.Context, workspaceID string) (QuotaUsage, error)

	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// APIKeyAndUser returns key id and its user in one query (ENOTFOUND
	// when either is missing): what authenticating a request reads.
	APIKeyAndUser(ctx context.Context, id string) (*APIKey, *User, error)
	ListAPIKeys(ctx context.Context, userID string, p Page) ([]APIKey, string, error)
	// DeleteAPIKey removes a key of userID (any user's when userID is "").
	DeleteAPIKey(ctx context.Context, userID, id string) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	CreateRunnerToken(ctx context.Context, t *RunnerToken) error
	RunnerToken(ctx context.Context, id string) (*RunnerToken, error)
	ListRunnerTokens(ctx context.Context, p Page) ([]RunnerToken, string, error)
	DeleteRunnerToken(ctx context.Context, id string) error

	CreateSSHKey(ctx context.Context, k *SSHKey) error
	ListSSHKeys(ctx context.Context, userID string) ([]SSHKey, error)
	DeleteSSHKey(ctx context.Context, userID, id string) error

	CreateRunner(ctx context.Context, r *Runner) error
	Runner(ctx context.Context, id string) (*Runner, error)
	ListRunners(ctx context.Context, p Page) ([]Runner, string, error)
	// TouchRunner moves last_seen_at of runner id forward to at (never back),
	// and writes nothing else.
	TouchRunner(ctx context.Context, id string, at time.Time) error
	// HeartbeatRunner records a poll: the runner is online, seen at at, and,
	// when capacity is not nil, offers that capacity. It returns the runner.
	HeartbeatRunner(ctx context.Context, id string, at time.Time, capacity *Capacity, runtimes []string) (*Runner, error)
	// SetRunnerVersion records the version runner id reports, writing only
	// when it differs from the stored one.
	SetRunnerVersion(ctx context.Context, id, version string) error
	// MarkRunnerOnline sets runner id online if it is not, at, and reports
	// whether it changed it (a conditional write: of two concurrent polls
	// of a runner coming back, one sees true).
	MarkRunnerOnline(ctx context.Context, id string, at time.Time) (bool, error)
	// SetSandboxAgentVersion records the version of sandbox id's agent as
	// its runner reports it, writing only when it differs from the stored
	// one. It does not move the sandbox's Version (it is not a state change).
	SetSandboxAgentVersion(ctx context.Context, id, version string) error
	// LockRunner returns runner id and, inside InTx, holds its row until the
	// transaction ends (SELECT ... FOR UPDATE on PostgreSQL; SQLite's single
	// writer holds everything), so placements on one runner take turns.
	LockRunner(ctx context.Context, id string) (*Runner, error)
	DeleteRunner(ctx context.Context, id string) error
	// SetRunnerWorkspaces sets the workspaces runner id may host sandboxes
	// of (none: every workspace).
	SetRunnerWorkspaces(ctx context.Context, id string, workspaces []string) error
	// MarkStaleRunners sets runners not seen since before to offline and
	// returns the ids it changed.
	MarkStaleRunners(ctx context.Context, before time.Time) ([]string, error)
	// RunnerUsage returns, per runner id, the sandboxes placed on it that may
	// hold a container — not deleted, error or lost (count and the sum of
	// their memory). With ids, only those runners are counted (an index
	// lookup each, not a pass over every sandbox).
	RunnerUsage(ctx context.Context, ids ...string) (map[string]Usage, error)
	// SetWarmPools replaces runner id's warm pools with what its poll
	// reported.
	SetWarmPools(ctx context.Context, runnerID string, pools []WarmPool) error
	// WarmPools returns the warm pools of every runner, by runner id.
	WarmPools(ctx context.Context) (map[string][]WarmPool, error)
	// WarmRunners lists the runners whose pool key has a ready sandbox.
	WarmRunners(ctx context.Context, key string) ([]string, error)
	// TakeWarm counts one ready sandbox of runner id's pool key as taken,
	// conditionally (ready > 0); false when none was left.
	TakeWarm(ctx context.Context, runnerID, key string) (bool, error)

	// CreateSandbox inserts s; a live sandbox with the same workspace and
	// name is an ECONFLICT. An empty WorkspaceID is the owner's personal one.
	CreateSandbox(ctx context.Context, s *Sandbox) error
	Sandbox(ctx context.Context, id string) (*Sandbox, error)
	SandboxByName(ctx context.Context, workspaceID, name string) (*Sandbox, error)
	ListSandboxes(ctx context.Context, f SandboxFilter) ([]Sandbox, string, error)
	// UpdateSandbox is the one write of a sandbox: it applies u if the
	// sandbox's version is still version, increments the version, and
	// enqueues jobs (for this sandbox) in the same transaction. A sandbox
	// whose version moved gives ErrVersionConflict; a missing one ENOTFOUND.
	UpdateSandbox(ctx context.Context, id string, version int64, u SandboxUpdate, jobs ...*Job) (*Sandbox, error)
	// ExpiredSandboxes returns live sandboxes whose ExpiresAt is before now.
	ExpiredSandboxes(ctx context.Context, now time.Time, limit int) ([]Sandbox, error)
	CountSandboxesByStatus(ctx context.Context) (map[SandboxStatus]int, error)
	// TouchSandbox moves IdleAt of sandbox id forward to at (never back,
	// never from nil) without changing its version: activity is not a state
	// change, and must not race with the writes that are.
	TouchSandbox(ctx context.Context, id string, at time.Time) error
	// IdleSandboxes returns up to limit running sandboxes whose IdleAt is
	// before now, longest idle first.
	IdleSandboxes(ctx context.Context, now time.Time, limit int) ([]Sandbox, error)

	// OpenPort stores p (an open preview port). A port already open keeps
	// its secret and creation time and takes p's Public and Label; p is
	// updated to what is stored.
	OpenPort(ctx context.Context, p *SandboxPort) error
	// SandboxPort returns the open port of a sandbox, ENOTFOUND if closed.
	SandboxPort(ctx context.Context, sandboxID string, port int) (*SandboxPort, error)
	// SandboxPorts lists a sandbox's open ports, lowest first.
	SandboxPorts(ctx context.Context, sandboxID string) ([]SandboxPort, error)
	// ClosePort deletes an open port; ENOTFOUND if it was not open.
	ClosePort(ctx context.Context, sandboxID string, port int) error

	EnqueueJob(ctx context.Context, j *Job) error
	Job(ctx context.Context, id string) (*Job, error)
	// ClaimJobs leases up to max jobs of runnerID that are queued or whose
	// lease expired before now, setting their lease to now+lease and counting
	// an attempt. No job is ever leased to two claimants at once: on
	// PostgreSQL the claim uses FOR UPDATE SKIP LOCKED, on SQLite the single
	// writer. Expired is how many of the returned jobs were re-leased after
	// their lease ran out.
	ClaimJobs(ctx context.Context, runnerID string, now time.Time, lease time.Duration, max int) (jobs []Job, expired int, err error)
	// HasDueJobs reports whether runnerID has a job ClaimJobs would lease at
	// now. It only reads (no transaction, no writer on SQLite): a poll asks
	// it first so that a poll with nothing due writes nothing.
	HasDueJobs(ctx context.Context, runnerID string, now time.Time) (bool, error)
	// ExtendLease moves the lease of a job leased by runnerID to until.
	ExtendLease(ctx context.Context, runnerID, jobID string, until time.Time) error
	// FinishJob marks a job leased by runnerID done or failed with its result.
	// It returns applied=false, and no error, if the job was already finished
	// (a repeated report), so callers apply the result's effects only once.
	FinishJob(ctx context.Context, runnerID, jobID string, status JobStatus, result []byte, errMsg string) (job *Job, applied bool, err error)
	// CancelJobs marks the unfinished jobs of a sandbox failed with reason
	// (e.g. the create job of a sandbox deleted before it ran).
	CancelJobs(ctx context.Context, sandboxID, reason string) error
	CountJobsByStatus(ctx context.Context) (map[JobStatus]int, error)
	// PruneJobs deletes finished (done or failed) jobs last updated before
	// before and returns how many it deleted.
	PruneJobs(ctx context.Context, before time.Time) (int, error)
	// PruneSandboxes deletes sandboxes deleted (last updated) before before,
	// with their jobs, and returns how many it deleted.
	PruneSandboxes(ctx context.Context, before time.Time) (int, error)
}

// Usage is what the sandboxes placed on one runner take.
type Usage struct {
	Sandboxes   int
	MemoryBytes int64
}

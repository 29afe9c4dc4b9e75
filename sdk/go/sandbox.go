package codepod

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/codepod-dev/codepod/client"
)

// SandboxInfo is a sandbox as the server describes it: status, reason,
// resources, labels, runner and SSH host key fingerprint.
type SandboxInfo = client.Sandbox

// Statuses of a sandbox.
const (
	StatusPending  = "pending"
	StatusCreating = "creating"
	StatusRunning  = "running"
	StatusStopping = "stopping"
	StatusStopped  = "stopped"
	StatusStarting = "starting"
	StatusDeleting = "deleting"
	StatusDeleted  = "deleted"
	StatusError    = "error"
	StatusLost     = "lost"
)

// Network modes.
const (
	NetworkNone   = "none"   // loopback only (the default)
	NetworkBridge = "bridge" // an isolated bridge with outbound access
)

// DefaultWaitTimeout bounds how long CreateSandbox and Start wait for a
// sandbox to run.
const DefaultWaitTimeout = 2 * time.Minute

// Sandbox is a handle on one sandbox. Its methods are safe for concurrent
// use.
type Sandbox struct {
	c    *Client
	id   string
	mu   sync.Mutex
	info SandboxInfo
}

// ID is the sandbox's id.
func (s *Sandbox) ID() string { return s.id }

// Name is the sandbox's name.
func (s *Sandbox) Name() string { return s.Info().Name }

// Info is what the server last said about the sandbox (see Refresh).
func (s *Sandbox) Info() SandboxInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

func (s *Sandbox) setInfo(info SandboxInfo) {
	s.mu.Lock()
	s.info = info
	s.mu.Unlock()
}

// Client is the client the sandbox was made or found with.
func (s *Sandbox) Client() *Client { return s.c }

// Sandbox connects to an existing sandbox by id or name. It fails with
// ErrNotFound when there is none (or it is another user's).
func (c *Client) Sandbox(ctx context.Context, idOrName string) (*Sandbox, error) {
	info, err := decode[SandboxInfo](c.check(c.api.GetSandbox(ctx, idOrName)))
	if err != nil {
		return nil, err
	}
	return &Sandbox{c: c, id: info.Id, info: *info}, nil
}

// Refresh asks the server for the sandbox's current state.
func (s *Sandbox) Refresh(ctx context.Context) (SandboxInfo, error) {
	info, err := decode[SandboxInfo](s.c.check(s.c.api.GetSandbox(ctx, s.id)))
	if err != nil {
		return SandboxInfo{}, err
	}
	s.setInfo(*info)
	return *info, nil
}

// Delete deletes the sandbox and everything in it. The server answers at
// once; the runner removes the container soon after. Deleting a sandbox
// that is already gone fails with ErrNotFound.
func (s *Sandbox) Delete(ctx context.Context) error {
	info, err := decode[SandboxInfo](s.c.check(s.c.api.DeleteSandbox(ctx, s.id)))
	if err != nil {
		return err
	}
	s.setInfo(*info)
	return nil
}

// Close deletes the sandbox unless it is gone already, within 30 seconds
// of its own: `defer sb.Close()` keeps a sandbox from outliving the code
// that made it.
func (s *Sandbox) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Delete(ctx); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// Stop stops the sandbox's container; its files are kept for Start.
func (s *Sandbox) Stop(ctx context.Context) error {
	info, err := decode[SandboxInfo](s.c.check(s.c.api.StopSandbox(ctx, s.id)))
	if err != nil {
		return err
	}
	s.setInfo(*info)
	return nil
}

// Start starts a stopped sandbox and waits until it runs (at most
// DefaultWaitTimeout unless ctx ends sooner).
func (s *Sandbox) Start(ctx context.Context) error {
	info, err := decode[SandboxInfo](s.c.check(s.c.api.StartSandbox(ctx, s.id)))
	if err != nil {
		return err
	}
	s.setInfo(*info)
	return s.WaitRunning(ctx, DefaultWaitTimeout)
}

// sandboxPath is the API path of one of the sandbox's resources.
func (s *Sandbox) sandboxPath(sub string) string {
	return "/sandboxes/" + url.PathEscape(s.id) + sub
}

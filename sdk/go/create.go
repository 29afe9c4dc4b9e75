package codepod

import (
	"context"
	"fmt"
	"time"

	"github.com/codepod-dev/codepod/client"
)

// CreateOptions describe a new sandbox. Zero values mean the server's
// defaults.
type CreateOptions struct {
	Name      string            // 1-63 of a-z, 0-9, '-'; generated when empty
	Image     string            // default codepod/base:latest
	CPU       float64           // cores, may be fractional; default 1
	Memory    string            // with a unit, e.g. "512m", "2g"; default 512m
	PidsLimit int64             // most processes at once; default 512
	Disk      string            // most it may write to its file system, e.g. "20g"; default 10g
	Env       map[string]string // environment of every process in it
	Labels    map[string]string // yours, to filter lists by
	TTL       time.Duration     // deleted this long after creation; 0: never
	// IdleTimeout stops the sandbox after this long without activity
	// (sessions, preview traffic, processes in it); 0: never.
	IdleTimeout time.Duration
	Network     string // NetworkNone (default) or NetworkBridge
	// NetworkPolicy, when set, is what the sandbox may reach, enforced on
	// its runner and changeable while it runs (Sandbox.SetNetworkPolicy).
	NetworkPolicy *NetworkPolicy
	// RunnerLabels must all be present on the runner that hosts it.
	RunnerLabels map[string]string
	// WaitTimeout bounds the wait for the sandbox to run: 0 means
	// DefaultWaitTimeout, a negative value returns without waiting.
	WaitTimeout time.Duration
}

func (o CreateOptions) request() client.CreateSandboxRequest {
	var r client.CreateSandboxRequest
	r.Name = ptrIf(o.Name)
	r.Image = ptrIf(o.Image)
	r.Memory = ptrIf(o.Memory)
	r.Disk = ptrIf(o.Disk)
	if o.CPU != 0 {
		r.Cpu = &o.CPU
	}
	if o.PidsLimit != 0 {
		r.PidsLimit = &o.PidsLimit
	}
	if o.IdleTimeout != 0 {
		r.IdleTimeout = ptrIf(o.IdleTimeout.String())
	}
	if o.TTL != 0 {
		r.Ttl = ptrIf(o.TTL.String())
	}
	if o.Network != "" {
		n := client.CreateSandboxRequestNetwork(o.Network)
		r.Network = &n
	}
	r.Env, r.Labels, r.RunnerLabels = mapIf(o.Env), mapIf(o.Labels), mapIf(o.RunnerLabels)
	r.NetworkPolicy = o.NetworkPolicy.request()
	return r
}

func ptrIf(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func mapIf(m map[string]string) *map[string]string {
	if len(m) == 0 {
		return nil
	}
	return &m
}

// CreateSandbox creates a sandbox and waits until it runs. When it does not
// run in time (ErrTimeout) or fails to start (ErrFailed), CreateSandbox
// deletes it and returns the error, so no sandbox is left behind unseen.
func (c *Client) CreateSandbox(ctx context.Context, opts CreateOptions) (*Sandbox, error) {
	info, err := decode[SandboxInfo](c.check(c.api.CreateSandbox(ctx, nil, opts.request())))
	if err != nil {
		return nil, err
	}
	s := &Sandbox{c: c, id: info.Id, info: *info}
	if opts.WaitTimeout < 0 {
		return s, nil
	}
	if err := s.WaitRunning(ctx, opts.WaitTimeout); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// WaitRunning polls the sandbox until it runs. It fails with ErrFailed
// when the sandbox ends in error, lost or deleted, and with ErrTimeout
// when timeout (0: DefaultWaitTimeout) passes or ctx's deadline does.
func (s *Sandbox) WaitRunning(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 50 * time.Millisecond
	info := s.Info()
	for {
		next, err := s.Refresh(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			info = next
		}
		switch info.Status {
		case StatusRunning:
			return nil
		case StatusError, StatusLost, StatusDeleted, StatusDeleting, StatusStopped:
			return &Error{Kind: KindFailed, Detail: fmt.Sprintf("sandbox %s is %s, not running: %s", info.Name, info.Status, orNone(info.Reason))}
		}
		select {
		case <-ctx.Done():
			return &Error{Kind: KindTimeout, cause: ctx.Err(),
				Detail: fmt.Sprintf("sandbox %s is still %s after %s: %s", info.Name, info.Status, timeout, orNone(info.Reason))}
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

func orNone(reason string) string {
	if reason == "" {
		return "no reason given"
	}
	return reason
}

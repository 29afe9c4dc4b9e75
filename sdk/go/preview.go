package codepod

import (
	"context"
	"time"

	"github.com/codepod-dev/codepod/client"
)

// Port is a sandbox port open for the server's preview proxy.
type Port = client.Port

// PreviewURL is a signed link to a port: it works without an API key until
// ExpiresAt, or until the port is closed.
type PreviewURL = client.PreviewURL

// PortOptions are the optional settings of OpenPort.
type PortOptions struct {
	Public bool   // proxied without any credential
	Label  string // your name for the port
}

// OpenPort opens port for the preview proxy: requests to
// SERVER/api/v1/sandboxes/ID/ports/PORT/… reach it (HTTP and WebSocket).
func (s *Sandbox) OpenPort(ctx context.Context, port int, opts ...PortOptions) (*Port, error) {
	req := client.OpenPortRequest{Port: int64(port)}
	if len(opts) > 0 {
		req.Public = &opts[0].Public
		if opts[0].Label != "" {
			req.Label = &opts[0].Label
		}
	}
	return decode[Port](s.c.check(s.c.api.OpenPort(ctx, s.id, req)))
}

// ClosePort closes port: the proxy refuses it and its preview links stop
// working.
func (s *Sandbox) ClosePort(ctx context.Context, port int) error {
	return drain(s.c.check(s.c.api.ClosePort(ctx, s.id, int64(port))))
}

// Ports lists the sandbox's open ports.
func (s *Sandbox) Ports(ctx context.Context) ([]Port, error) {
	out, err := decode[struct {
		Items []Port `json:"items"`
	}](s.c.check(s.c.api.ListPorts(ctx, s.id)))
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// GetPreviewURL returns a signed link to port (opening the port if
// needed) that works for ttl (0: the server's default, 1h), in a browser
// too.
func (s *Sandbox) GetPreviewURL(ctx context.Context, port int, ttl time.Duration) (*PreviewURL, error) {
	req := client.PreviewURLRequest{Port: int64(port)}
	if ttl > 0 {
		d := ttl.String()
		req.Ttl = &d
	}
	return decode[PreviewURL](s.c.check(s.c.api.CreatePreviewUrl(ctx, s.id, req)))
}

// SetTimeout sets the sandbox's TTL to d from now (extend or shorten; 0
// removes it where the server allows).
func (s *Sandbox) SetTimeout(ctx context.Context, d time.Duration) error {
	v := d.String()
	return s.update(ctx, client.UpdateSandboxRequest{Ttl: &v})
}

// SetIdleTimeout stops the sandbox after d without activity (sessions,
// preview traffic, processes running in it); 0 turns it off.
func (s *Sandbox) SetIdleTimeout(ctx context.Context, d time.Duration) error {
	v := d.String()
	return s.update(ctx, client.UpdateSandboxRequest{IdleTimeout: &v})
}

func (s *Sandbox) update(ctx context.Context, req client.UpdateSandboxRequest) error {
	info, err := decode[SandboxInfo](s.c.check(s.c.api.UpdateSandbox(ctx, s.id, req)))
	if err != nil {
		return err
	}
	s.setInfo(*info)
	return nil
}

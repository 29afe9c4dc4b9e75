package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
)

// UpdateSandboxRequest changes a sandbox's lifetime; absent fields stay.
type UpdateSandboxRequest struct {
	TTL         *string `json:"ttl,omitempty" maxLength:"32" doc:"New lifetime counted from now (extend or shorten), a Go duration such as 2h; \"0\" removes the TTL where the server allows no TTL. At most the server's maximum."`
	IdleTimeout *string `json:"idle_timeout,omitempty" maxLength:"32" doc:"Stop after this long without activity, a Go duration (at least 1s); \"0\" turns the idle stop off."`
}

type updateSandboxInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body UpdateSandboxRequest
}

func registerLifetime(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPatch, "/sandboxes/{id}", "update-sandbox", "sandboxes", "Change a sandbox's TTL or idle timeout",
		http.StatusNotFound, http.StatusConflict)
	register(api, s, describe(op, "The TTL is set from now: the sandbox is deleted ttl after this call. The idle timeout stops the sandbox "+
		"when nothing used it for that long: no exec, files, SSH or terminal session opened, no preview request, and no process running in it beside its agent."), s.updateSandbox)
}

func (s *Server) updateSandbox(ctx context.Context, in *updateSandboxInput) (*sandboxOutput, error) {
	var l control.Lifetime
	if in.Body.TTL == nil && in.Body.IdleTimeout == nil {
		return nil, codepod.Errorf(codepod.EINVALID, "nothing to change: give ttl or idle_timeout")
	}
	if in.Body.TTL != nil {
		d, err := parseDuration("ttl", *in.Body.TTL)
		if err != nil {
			return nil, err
		}
		l.TTL = &d
	}
	if in.Body.IdleTimeout != nil {
		d, err := parseDuration("idle_timeout", *in.Body.IdleTimeout)
		if err != nil {
			return nil, err
		}
		l.IdleTimeout = &d
	}
	sb, err := s.ctl.SetLifetime(ctx, caller(ctx), in.ID, l)
	if err != nil {
		return nil, err
	}
	return &sandboxOutput{Body: newSandbox(sb)}, nil
}

// parseDuration reads a Go duration ("0" too) for field name.
func parseDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, codepod.Errorf(codepod.EINVALID, "%s %q must be a duration such as 90s, 30m or 2h (or 0 for none)", name, v)
	}
	return d, nil
}

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// The live feed of sandbox changes: server-sent events woken by the
// control plane's hub (control.SandboxesChanged), so a list updates without
// polling. Each wake-up re-reads the caller's sandboxes and sends only
// those that changed, so a connection holds one small record per sandbox
// however fast they change (changes between two reads coalesce), and a
// slow client only slows its own reads.

const (
	// eventsHeartbeat is how often an idle feed sends a comment line (and
	// re-reads the list, in case a wake-up was lost).
	eventsHeartbeat = 15 * time.Second
	// eventsMaxSandboxes bounds what one feed watches.
	eventsMaxSandboxes = 2000
)

type watchSandboxesInput struct {
	All bool `query:"all" doc:"Admins only: every user's sandboxes, not just the caller's."`
}

func registerEvents(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodGet, "/events", "watch-sandboxes", "sandboxes",
		"Watch sandboxes change (server-sent events)", http.StatusForbidden)
	op.Responses = map[string]*huma.Response{"200": {
		Description: "A text/event-stream that stays open.",
		Content:     map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: "string"}}},
	}}
	register(api, s, describe(op, "A text/event-stream of the caller's sandboxes (every user's for an admin with all=true). "+
		"It starts with one `sandbox` event per sandbox and a `ready` event, then sends a `sandbox` event (data: the sandbox, as GET shows it) "+
		"whenever one is created or changes, and a `deleted` event (data: {\"id\":…}) when one is gone. "+
		"A comment line (`: heartbeat`) comes every 15 s. Changes close together are coalesced: the feed always "+
		"ends up at the current state. Reconnect after a drop; the first events bring the list up to date again. "+
		"It counts as one of the caller's tunnels, and ends when the caller's key is revoked."), s.watchSandboxes)
}

func (s *Server) watchSandboxes(ctx context.Context, in *watchSandboxesInput) (*huma.StreamResponse, error) {
	u := caller(ctx)
	if in.All && !u.Admin {
		return nil, codepod.Errorf(codepod.EFORBIDDEN, "all=true requires an admin; leave it out to watch your own sandboxes")
	}
	owner := u.WorkspaceOf() // the workspace the feed watches
	if in.All {
		owner = ""
	}
	ctx, release, err := s.openSession(ctx, gateway.SessionTunnel)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer release()
		hctx.SetHeader("Content-Type", "text/event-stream")
		hctx.SetHeader("Cache-Control", "no-store")
		hctx.SetHeader("X-Accel-Buffering", "no")
		hctx.SetStatus(http.StatusOK)
		clearWriteDeadline(ctx)
		_, w := humachi.Unwrap(hctx)
		f := &feed{s: s, w: w, owner: owner, caller: u, seen: map[string]string{}}
		f.run(ctx)
	}}, nil
}

// feed is one connection's state: the last JSON sent per sandbox.
type feed struct {
	s      *Server
	w      http.ResponseWriter
	owner  string
	caller *codepod.User
	seen   map[string]string
}

func (f *feed) run(ctx context.Context) {
	rc := http.NewResponseController(f.w)
	beat := time.NewTicker(eventsHeartbeat)
	defer beat.Stop()
	first := true
	for {
		wake := f.s.ctl.SandboxesChanged() // before the read: a change after it wakes us
		if err := f.sync(ctx); err != nil {
			if ctx.Err() == nil {
				logger(ctx).Warn("sandbox feed", "err", err)
				f.event("error", map[string]string{"detail": codepod.ErrorMessage(err)})
			}
			return
		}
		if first {
			f.event("ready", map[string]int{"sandboxes": len(f.seen)})
			first = false
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-wake:
		case <-beat.C:
			if _, err := io.WriteString(f.w, ": heartbeat\n\n"); err != nil {
				return
			}
		case <-ctx.Done():
			if cause := revocation(ctx); cause != nil {
				f.event("error", map[string]string{"detail": codepod.ErrorMessage(cause)})
				rc.Flush()
			}
			return
		}
	}
}

// sync reads the sandboxes and sends those that changed or went away.
func (f *feed) sync(ctx context.Context) error {
	now := map[string]bool{}
	page := codepod.Page{Limit: 500}
	for len(now) < eventsMaxSandboxes {
		list, next, err := f.s.ctl.ListSandboxes(ctx, f.caller, codepod.SandboxFilter{WorkspaceID: f.owner, Page: page})
		if err != nil {
			return err
		}
		for i := range list {
			sb := newSandbox(&list[i])
			now[sb.ID] = true
			b, _ := json.Marshal(sb)
			if f.seen[sb.ID] != string(b) {
				f.seen[sb.ID] = string(b)
				f.write("sandbox", b)
			}
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	for id := range f.seen {
		if !now[id] {
			delete(f.seen, id)
			f.event("deleted", map[string]string{"id": id})
		}
	}
	return nil
}

func (f *feed) event(name string, v any) {
	b, _ := json.Marshal(v)
	f.write(name, b)
}

func (f *feed) write(name string, data []byte) {
	fmt.Fprintf(f.w, "event: %s\ndata: %s\n\n", name, data)
}

package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// Port is a sandbox port opened for the preview proxy.
type Port struct {
	Port      int       `json:"port"`
	Public    bool      `json:"public" doc:"Proxied without a credential."`
	Label     string    `json:"label"`
	Path      string    `json:"path" doc:"The proxy's path for this port: requests below it reach the port inside the sandbox."`
	CreatedAt time.Time `json:"created_at"`
}

func newPort(p *codepod.SandboxPort) Port {
	return Port{Port: p.Port, Public: p.Public, Label: p.Label, Path: previewPath(p.SandboxID, p.Port) + "/", CreatedAt: p.CreatedAt}
}

// previewPath is the proxy's prefix for port of sandbox id (no trailing
// slash).
func previewPath(id string, port int) string {
	return Prefix + "/sandboxes/" + id + "/ports/" + strconv.Itoa(port)
}

// OpenPortRequest opens a port.
type OpenPortRequest struct {
	Port   int    `json:"port" minimum:"1" maximum:"65535" doc:"A TCP port a server listens on inside the sandbox (on 127.0.0.1 or all addresses)."`
	Public bool   `json:"public,omitempty" doc:"Proxy it without any credential (anyone who knows the URL reaches it). Default false: an API key or a signed preview link is needed."`
	Label  string `json:"label,omitempty" maxLength:"100" doc:"Your name for it."`
}

type openPortInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body OpenPortRequest
}

type portOutput struct{ Body Port }

type portRef struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Port int    `path:"port" minimum:"1" maximum:"65535"`
}

type listPortsOutput struct {
	Body struct {
		Items []Port `json:"items"`
	}
}

// PreviewURLRequest asks for a signed preview link.
type PreviewURLRequest struct {
	Port int    `json:"port" minimum:"1" maximum:"65535" doc:"The port; opened (not public) if it is not open yet."`
	TTL  string `json:"ttl,omitempty" maxLength:"32" doc:"How long the link works, as a Go duration (default 1h, at most 168h)."`
}

// PreviewURL is a signed link to a port.
type PreviewURL struct {
	URL       string    `json:"url" doc:"Open it in a browser or call it with any HTTP client: no API key needed until expires_at. A browser gets a cookie for the port's path, so the app's own later requests work too."`
	Path      string    `json:"path" doc:"The link's path and query, for clients that know the server's URL better than the server does (behind a proxy)."`
	Token     string    `json:"token" doc:"The link's token (query parameter codepod_preview_token, or the codepod_preview cookie)."`
	Port      int       `json:"port"`
	ExpiresAt time.Time `json:"expires_at"`
}

type previewURLInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body PreviewURLRequest
}

type previewURLOutput struct{ Body PreviewURL }

func registerPorts(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/ports", "open-port", "preview", "Open a port for the preview proxy", http.StatusNotFound, http.StatusConflict)
	register(api, s, describe(op, "Requests to "+Prefix+"/sandboxes/{id}/ports/{port}/… are proxied (HTTP and WebSocket) to this port inside the sandbox, "+
		"with an API key, a signed preview link (create-preview-url) or, for a public port, nothing. Opening an open port again changes its public flag and label and keeps its links."), s.openPort)
	op = s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/ports", "list-ports", "preview", "List a sandbox's open ports", http.StatusNotFound)
	register(api, s, op, s.listPorts)
	op = s.operation(userOnly, http.MethodDelete, "/sandboxes/{id}/ports/{port}", "close-port", "preview", "Close a port", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "The proxy refuses the port from now on, and every preview link minted for it stops working (also if it is opened again)."), s.closePort)
	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/preview-urls", "create-preview-url", "preview", "Make a signed preview link to a port", http.StatusNotFound, http.StatusConflict)
	register(api, s, describe(op, "Opens the port if needed. The link works without an API key until it expires, the port is closed or the sandbox deleted."), s.createPreviewURL)
}

func (s *Server) openPort(ctx context.Context, in *openPortInput) (*portOutput, error) {
	_, p, err := s.ctl.OpenPort(ctx, caller(ctx), in.ID, codepod.SandboxPort{Port: in.Body.Port, Public: in.Body.Public, Label: strings.TrimSpace(in.Body.Label)})
	if err != nil {
		return nil, err
	}
	return &portOutput{Body: newPort(p)}, nil
}

func (s *Server) listPorts(ctx context.Context, in *sandboxRef) (*listPortsOutput, error) {
	_, ports, err := s.ctl.Ports(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &listPortsOutput{}
	out.Body.Items = make([]Port, len(ports))
	for i := range ports {
		out.Body.Items[i] = newPort(&ports[i])
	}
	return out, nil
}

func (s *Server) closePort(ctx context.Context, in *portRef) (*struct{}, error) {
	return nil, s.ctl.ClosePort(ctx, caller(ctx), in.ID, in.Port)
}

func (s *Server) createPreviewURL(ctx context.Context, in *previewURLInput) (*previewURLOutput, error) {
	ttl := DefaultPreviewTTL
	if in.Body.TTL != "" {
		d, err := time.ParseDuration(strings.TrimSpace(in.Body.TTL))
		if err != nil || d <= 0 || d > MaxPreviewTTL {
			return nil, codepod.Errorf(codepod.EINVALID, "ttl %q must be a duration between 1s and %s, such as 30m or 24h", in.Body.TTL, MaxPreviewTTL)
		}
		ttl = d
	}
	sb, err := s.ctl.GetSandbox(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	p, err := s.ctl.Port(ctx, sb, in.Body.Port)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		_, p, err = s.ctl.OpenPort(ctx, caller(ctx), sb.ID, codepod.SandboxPort{Port: in.Body.Port})
	}
	if err != nil {
		return nil, err
	}
	exp := s.now().Add(ttl).Truncate(time.Second)
	tok := mintPreviewToken(p, sb.OwnerID, exp)
	path := previewPath(sb.ID, p.Port) + "/?" + previewTokenParam + "=" + url.QueryEscape(tok)
	return &previewURLOutput{Body: PreviewURL{URL: s.previewBase(ctx) + path, Path: path, Token: tok, Port: p.Port, ExpiresAt: exp}}, nil
}

// previewBase is the scheme and host of preview links: the configured
// preview origin, else the one the caller used.
func (s *Server) previewBase(ctx context.Context) string {
	if s.cfg.PreviewBaseURL != "" {
		return strings.TrimSuffix(s.cfg.PreviewBaseURL, "/")
	}
	if ri := requestInfo(ctx); ri != nil {
		return ri.base
	}
	return ""
}

// requestBase is scheme://host of r as its client called it.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

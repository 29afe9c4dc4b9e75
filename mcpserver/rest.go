package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// remoteHeader carries the MCP caller's address to the in-process REST
// calls, whose per-address limits (failed authentications) then count the
// real client. ServeHTTP overwrites whatever a client sent in it.
const remoteHeader = "X-Codepod-Mcp-Remote-Addr"

// internalHost names the in-process server in the requests' URLs.
const internalHost = "codepod.internal"

// restCall is one request of the REST API, relative to its root.
type restCall struct {
	Method string
	Path   string     // e.g. "/api/v1/sandboxes/" + url.PathEscape(id)
	Query  url.Values // may be nil
	JSON   any        // a JSON body, or nil
	Raw    []byte     // a raw body (with Type) when JSON is nil
	Type   string     // Content-Type of Raw
}

// caller is who a tool runs as: the Authorization header and address of
// the MCP request.
type caller struct {
	auth   string
	remote string
}

// problem is an RFC 9457 problem document answered by the REST API; its
// detail is the actionable message a tool reports.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

func (p *problem) Error() string {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	for _, e := range p.Errors {
		msg += "; " + e.Location + ": " + e.Message
	}
	return fmt.Sprintf("%d %s: %s", p.Status, http.StatusText(p.Status), msg)
}

// do serves c with the REST handler as who and returns the response; an
// answer of 400 or more becomes a *problem error (the body is closed).
func (h *Handler) do(ctx context.Context, who caller, c restCall) (*http.Response, error) {
	var body io.Reader
	typ := c.Type
	if c.JSON != nil {
		b, err := json.Marshal(c.JSON)
		if err != nil {
			return nil, err
		}
		body, typ = bytes.NewReader(b), "application/json"
	} else if c.Raw != nil {
		body = bytes.NewReader(c.Raw)
	}
	u := url.URL{Scheme: "http", Host: internalHost, Path: c.Path, RawQuery: c.Query.Encode()}
	req, err := http.NewRequestWithContext(ctx, c.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = who.remote
	req.Header.Set("Authorization", who.auth)
	if typ != "" {
		req.Header.Set("Content-Type", typ)
	}
	resp, err := h.rest.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.Method, c.Path, err)
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	p := &problem{Status: resp.StatusCode}
	if json.Unmarshal(b, p) != nil || p.Detail == "" && p.Title == "" {
		p.Detail = strings.TrimSpace(string(b))
	}
	p.Status = resp.StatusCode
	return nil, p
}

// doJSON serves c and decodes its JSON answer into out (if not nil).
func (h *Handler) doJSON(ctx context.Context, who caller, c restCall, out any) error {
	resp, err := h.do(ctx, who, c)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSONAnswer)).Decode(out); err != nil {
		return fmt.Errorf("decode the answer of %s %s: %w", c.Method, c.Path, err)
	}
	return nil
}

// maxJSONAnswer bounds a decoded REST answer (exec output is at most two
// streams of the server's exec limit, 4 MiB each by default, in base64).
const maxJSONAnswer = 32 << 20

// isProblem reports whether err is a REST answer with this status.
func isProblem(err error, status int) bool {
	var p *problem
	return errors.As(err, &p) && p.Status == status
}

// sandboxPath is the path of a sandbox's sub-resource; id may be a name.
func sandboxPath(id, sub string) string {
	return "/api/v1/sandboxes/" + url.PathEscape(id) + sub
}

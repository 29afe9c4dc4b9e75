package runner

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

	"github.com/codepod-dev/codepod/wire"
)

// apiClient speaks the runner protocol of package wire to one server.
type apiClient struct {
	base string // server URL without a trailing slash
	hc   *http.Client
}

// StatusError is an HTTP error answer from the server.
type StatusError struct {
	Status int
	Detail string // the problem document's detail (or title), if any
}

func (e *StatusError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("server answered %d: %s", e.Status, e.Detail)
	}
	return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
}

// retryable reports whether err is worth another try: a network error, a
// timeout, or a server-side or throttling status.
func retryable(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return !errors.Is(err, context.Canceled)
	}
	return se.Status >= 500 || se.Status == http.StatusTooManyRequests || se.Status == http.StatusRequestTimeout
}

// unauthorized reports whether the server rejected the credential.
func unauthorized(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden)
}

func (c *apiClient) register(ctx context.Context, token string, req wire.RegisterRequest) (*wire.RegisterResponse, error) {
	var resp wire.RegisterResponse
	if err := c.post(ctx, "/api/v1/runners/register", token, req, &resp); err != nil {
		return nil, err
	}
	if resp.RunnerID == "" || resp.Credential == "" {
		return nil, errors.New("register: the server's answer has no runner id or credential")
	}
	return &resp, nil
}

func (c *apiClient) poll(ctx context.Context, cred string, req wire.PollRequest) (*wire.PollResponse, error) {
	var resp wire.PollResponse
	if err := c.post(ctx, "/api/v1/runners/poll", cred, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func (c *apiClient) progress(ctx context.Context, cred, jobID string, p wire.JobProgress) error {
	return c.post(ctx, "/api/v1/runners/jobs/"+url.PathEscape(jobID)+"/progress", cred, p, nil)
}

func (c *apiClient) reportState(ctx context.Context, cred string, st wire.SandboxState) error {
	return c.post(ctx, "/api/v1/runners/sandboxes/"+url.PathEscape(st.ID)+"/state", cred, st, nil)
}

func (c *apiClient) result(ctx context.Context, cred, jobID string, r wire.JobResult) error {
	return c.post(ctx, "/api/v1/runners/jobs/"+url.PathEscape(jobID)+"/result", cred, r, nil)
}

// post sends in as JSON with a bearer credential and decodes a 2xx answer
// into out (unless out is nil).
func (c *apiClient) post(ctx context.Context, path, bearer string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(out); err != nil {
		return fmt.Errorf("decode answer of %s: %w", path, err)
	}
	return nil
}

// statusError reads an RFC 9457 problem document, if there is one.
func statusError(resp *http.Response) error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &p)
	detail := p.Detail
	if detail == "" {
		detail = p.Title
	}
	if detail == "" && !strings.HasPrefix(strings.TrimSpace(string(b)), "<") {
		detail = strings.TrimSpace(string(b))
		if len(detail) > 200 {
			detail = detail[:200]
		}
	}
	return &StatusError{Status: resp.StatusCode, Detail: detail}
}

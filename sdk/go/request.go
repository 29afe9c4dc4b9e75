package codepod

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
)

// request sends one hand-made request (raw bodies, binary answers) with the
// client's credential and checks its answer like the generated calls.
func (c *Client) request(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := c.serverURL + "/api/v1" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c.authorize(ctx, req)
	return c.check(c.http.Do(req))
}

// requestJSON sends v as a JSON body.
func (c *Client) requestJSON(ctx context.Context, method, path string, v any) (*http.Response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return c.request(ctx, method, path, nil, bytes.NewReader(b), "application/json")
}

// sandboxPath is the API path of one of the sandbox's resources.
func (s *Sandbox) sandboxPath(sub string) string {
	return "/sandboxes/" + url.PathEscape(s.id) + sub
}

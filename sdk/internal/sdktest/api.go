package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// call makes one API request as the admin and decodes a JSON answer.
func (c *Cluster) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *Cluster) waitHealthy(ctx context.Context, srv *proc) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.URL+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if srv.exited() {
			return errServerExited
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server at %s did not answer /healthz: %w", c.URL, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) runnerToken(ctx context.Context) (string, error) {
	var tok struct {
		Token string `json:"token"`
	}
	if err := c.call(ctx, "POST", "/api/v1/runner-tokens", map[string]any{}, &tok); err != nil {
		return "", fmt.Errorf("create a runner token: %w", err)
	}
	return tok.Token, nil
}

// waitRunner waits until the runner is online and returns its id.
func (c *Cluster) waitRunner(ctx context.Context, run *proc) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var list struct {
			Items []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"items"`
		}
		if err := c.call(ctx, "GET", "/api/v1/runners", nil, &list); err == nil {
			for _, r := range list.Items {
				if r.Status == "online" {
					return r.ID, nil
				}
			}
		}
		if run.exited() {
			return "", fmt.Errorf("the runner exited")
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the runner did not come online: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type sandboxItem struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Sandboxes lists every user's sandboxes that are not deleted.
func (c *Cluster) Sandboxes(ctx context.Context) ([]sandboxItem, error) {
	var list struct {
		Items []sandboxItem `json:"items"`
	}
	err := c.call(ctx, "GET", "/api/v1/sandboxes?all=true&limit=500", nil, &list)
	return list.Items, err
}

// deleteAll deletes the sandboxes still there and waits until they are
// gone. Its error lists those nobody had deleted: a test suite must not
// leave any behind (ones already deleting are fine).
func (c *Cluster) deleteAll(ctx context.Context) error {
	items, err := c.Sandboxes(ctx)
	if err != nil || len(items) == 0 {
		return err
	}
	var names []string
	for _, s := range items {
		if s.Status != "deleting" {
			names = append(names, fmt.Sprintf("%s (%s, %s)", s.Name, s.ID, s.Status))
			c.call(ctx, "DELETE", "/api/v1/sandboxes/"+s.ID, nil, nil)
		}
	}
	for ctx.Err() == nil {
		if left, err := c.Sandboxes(ctx); err != nil || len(left) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("sandboxes left behind: %s", strings.Join(names, ", "))
}

package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// api sends a JSON request to the server as the admin and decodes a 2xx
// JSON answer into out (when out is not nil). It returns the status and
// the raw body.
func (c *cluster) api(ctx context.Context, method, path string, in, out any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, raw, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("decode %s %s answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, raw, nil
}

// mustAPI is api that fails the test on a transport error or an answer
// other than want.
func (c *cluster) mustAPI(method, path string, in, out any, want int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, raw, err := c.api(ctx, method, path, in, out)
	if err != nil || status != want {
		c.t.Fatalf("%s %s: %d %v: %s (want %d)", method, path, status, err, raw, want)
	}
}

// execRequest and execResult are POST /sandboxes/{id}/exec's JSON.
type execRequest struct {
	Command        []string          `json:"command,omitempty"`
	Shell          string            `json:"shell,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	Cwd            string            `json:"cwd,omitempty"`
	Stdin          string            `json:"stdin,omitempty"`
	StdinBase64    string            `json:"stdin_base64,omitempty"`
	TimeoutSeconds int               `json:"timeout_seconds,omitempty"`
	MaxOutputBytes int               `json:"max_output_bytes,omitempty"`
}

type execResult struct {
	ExitCode        int    `json:"exit_code"`
	Signal          string `json:"signal"`
	TimedOut        bool   `json:"timed_out"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutEncoding  string `json:"stdout_encoding"`
	StderrEncoding  string `json:"stderr_encoding"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	StderrTruncated bool   `json:"stderr_truncated"`
	DurationMS      int    `json:"duration_ms"`
}

// apiSandbox is the part of the sandbox JSON the tests read.
type apiSandbox struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	HostKey string `json:"host_key_fingerprint"`
}

// createSandboxAPI creates a sandbox through POST /sandboxes and polls
// GET every interval until it runs; it returns the running sandbox.
func (c *cluster) createSandboxAPI(ctx context.Context, req map[string]any, interval time.Duration) (apiSandbox, error) {
	var sb apiSandbox
	status, raw, err := c.api(ctx, "POST", "/api/v1/sandboxes", req, &sb)
	if err != nil || status != http.StatusCreated {
		return sb, fmt.Errorf("create sandbox: %d %v: %s", status, err, raw)
	}
	for {
		status, raw, err := c.api(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &sb)
		switch {
		case err != nil || status != http.StatusOK:
			return sb, fmt.Errorf("get sandbox: %d %v: %s", status, err, raw)
		case sb.Status == "running":
			return sb, nil
		case sb.Status != "pending" && sb.Status != "creating":
			return sb, fmt.Errorf("sandbox %s is %s: %s", sb.ID, sb.Status, sb.Reason)
		}
		select {
		case <-ctx.Done():
			return sb, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// randomBytes returns n random bytes.
func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sha is the hex SHA-256 of b.
func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

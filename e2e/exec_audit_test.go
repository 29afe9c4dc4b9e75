package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// execAuditEntries returns the request ids of the sandbox.exec entries on
// sandbox id, read over a connection of its own.
func (c *cluster) execAuditEntries(ctx context.Context, tb testing.TB, hc *http.Client, id string) map[string]int {
	tb.Helper()
	var page struct {
		Items []struct {
			RequestID string `json:"request_id"`
			TargetID  string `json:"target_id"`
		} `json:"items"`
	}
	q := url.Values{"action": {"sandbox.exec"}, "target": {"sandbox:" + id}, "limit": {"500"}}
	req, _ := http.NewRequestWithContext(ctx, "GET", c.URL+"/api/v1/audit?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("audit list: %d %s %v", resp.StatusCode, raw, err)
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		tb.Fatal(err)
	}
	out := map[string]int{}
	for _, it := range page.Items {
		out[it.RequestID]++
	}
	return out
}

// restExecID runs req through REST with X-Request-Id rid on hc.
func (c *cluster) restExecID(ctx context.Context, hc *http.Client, id, rid, body string) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", c.URL+"/api/v1/sandboxes/"+id+"/exec", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", rid)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// TestExecAuditEntry checks when a REST exec's audit entry is written: it
// is written while the command runs (before it ends), it is in the log
// when the answer arrives (read at once on another connection), each exec
// has exactly one, and an exec refused before its command started has
// none.
func TestExecAuditEntry(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-exec-audit")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	execs, reads := restClient(2), restClient(2) // two connections: no ordering between them

	t.Run("in the log when the answer arrives", func(t *testing.T) {
		for i := range 20 {
			rid := fmt.Sprintf("req_e2e_audit_%d_%d", time.Now().UnixNano(), i)
			status, body, err := c.restExecID(ctx, execs, sb.ID, rid, `{"command":["true"]}`)
			if err != nil || status != http.StatusOK {
				t.Fatalf("exec: %d %s %v", status, body, err)
			}
			if n := c.execAuditEntries(ctx, t, reads, sb.ID)[rid]; n != 1 {
				t.Fatalf("exec %d answered; its audit entries right after: %d, want 1", i, n)
			}
		}
	})

	t.Run("written while the command runs", func(t *testing.T) {
		rid := fmt.Sprintf("req_e2e_audit_wait_%d", time.Now().UnixNano())
		type answer struct {
			status int
			body   string
			err    error
		}
		done := make(chan answer, 1)
		go func() {
			// Ends when the test creates /tmp/go (or after its 20 s timeout).
			s, b, err := c.restExecID(ctx, execs, sb.ID, rid,
				`{"shell":"while [ ! -e /tmp/go ]; do sleep 0.02; done","timeout_seconds":20}`)
			done <- answer{s, b, err}
		}()
		for c.execAuditEntries(ctx, t, reads, sb.ID)[rid] == 0 {
			select {
			case a := <-done:
				t.Fatalf("the exec ended (%d %s %v) before its audit entry showed", a.status, a.body, a.err)
			case <-ctx.Done():
				t.Fatal("no audit entry while the command ran")
			case <-time.After(20 * time.Millisecond): // poll
			}
		}
		c.exec(ctx, t, sb.ID, map[string]any{"command": []string{"touch", "/tmp/go"}})
		a := <-done
		if a.err != nil || a.status != http.StatusOK || !strings.Contains(a.body, `"exit_code":0`) {
			t.Fatalf("exec: %d %s %v", a.status, a.body, a.err)
		}
		if n := c.execAuditEntries(ctx, t, reads, sb.ID)[rid]; n != 1 {
			t.Fatalf("%d audit entries after the exec ended, want 1", n)
		}
	})

	t.Run("none for an exec refused before it started", func(t *testing.T) {
		rid := fmt.Sprintf("req_e2e_audit_refused_%d", time.Now().UnixNano())
		// An invalid env name is refused by validation, before any session.
		status, body, err := c.restExecID(ctx, execs, sb.ID, rid, `{"command":["true"],"env":{"1BAD":"x"}}`)
		if err != nil || status < 400 {
			t.Fatalf("exec with a bad env name: %d %s %v, want an error", status, body, err)
		}
		if n := c.execAuditEntries(ctx, t, reads, sb.ID)[rid]; n != 0 {
			t.Fatalf("%d audit entries for a refused exec, want 0", n)
		}
	})
}

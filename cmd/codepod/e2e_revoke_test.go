package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/codepod-dev/codepod/internal/secret"
	"github.com/codepod-dev/codepod/store"
)

// revokeDeadline is how soon after a revocation a session must be over.
const revokeDeadline = 5 * time.Second

// TestAttackRevokedKeyKeepsSessions is issue 8's revoke-kills-session: a
// user holds a streaming exec, a browser terminal and a raw tunnel open on
// a real sandbox; revoking the key (through the CLI, and behind the
// server's back, as another replica would) or disabling the user ends
// each of them within seconds, and the key stops working.
func TestAttackRevokedKeyKeepsSessions(t *testing.T) {
	c := newCluster(t, longRunnerTimeout...)
	c.startRunner("r1", t.TempDir())
	if r := c.run(cliOpts{stdin: strings.NewReader("correct horse battery\n")}, "user", "create", "--email", "mallory@example.com", "--password"); r.code != 0 {
		t.Fatalf("user create: %s", r.stderr)
	}
	key1 := c.login(t, "mallory@example.com")
	if out, errOut, code := c.cliAs(key1, "sandbox", "create", "box", "--image", "codepod/tiny:latest", "--wait", "--timeout", "60s"); code != 0 {
		t.Fatalf("sandbox create: %s %s", out, errOut)
	}
	t.Cleanup(func() { c.cli("user", "delete", "--force", "mallory@example.com") })

	t.Run("key revoked through the CLI", func(t *testing.T) {
		sessions := c.openSessions(t, key1, "box")
		var keys []struct {
			ID     string `json:"id"`
			UserID string `json:"user_id"`
		}
		out := c.must("api-key", "list", "--user", "mallory@example.com", "-o", "json")
		if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 1 {
			t.Fatalf("api-key list --user: %s (%v)", out, err)
		}
		c.must("api-key", "delete", keys[0].ID)
		sessions.wantEnded(t)
		c.wantRefused(t, key1, "revoked")
	})

	t.Run("key deleted on another replica", func(t *testing.T) {
		key2 := c.login(t, "mallory@example.com")
		sessions := c.openSessions(t, key2, "box")
		// Delete the key straight from the database, as another replica
		// would: only this server's recheck can notice.
		st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(c.DataDir, "codepod.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		id, _ := secret.Parse(secret.APIKey, key2)
		if err := st.DeleteAPIKey(context.Background(), "", id); err != nil {
			t.Fatal(err)
		}
		sessions.wantEnded(t)
	})

	t.Run("user disabled", func(t *testing.T) {
		key3 := c.login(t, "mallory@example.com")
		sessions := c.openSessions(t, key3, "box")
		c.must("user", "disable", "mallory@example.com")
		sessions.wantEnded(t)
		c.wantRefused(t, key3, "disabled")
		c.must("user", "enable", "mallory@example.com")
		if _, errOut, code := c.cliAs(key3, "sandbox", "list"); code != 0 {
			t.Fatalf("enabled user's key: %s", errOut)
		}
	})

	t.Run("SSH token dies with the key that minted it", func(t *testing.T) {
		key := c.login(t, "mallory@example.com")
		var tok struct{ Token string }
		req, _ := http.NewRequest("POST", c.URL+"/api/v1/sandboxes/box/ssh-tokens", strings.NewReader(`{"ttl_seconds": 3600}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || tok.Token == "" {
			t.Fatalf("create-ssh-token: %d", resp.StatusCode)
		}
		// The token alone opens this sandbox's tunnel, as the key would.
		sessions := c.openSessions(t, tok.Token, "box", "tunnel")
		id, _ := secret.Parse(secret.APIKey, key)
		c.must("api-key", "delete", id)
		sessions.wantEnded(t)
		h := http.Header{"Authorization": {"Bearer " + tok.Token}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, resp, err := websocket.Dial(ctx, c.wsURL("/api/v1/sandboxes/box/tunnel"), &websocket.DialOptions{HTTPClient: c.HTTP, HTTPHeader: h})
		if err == nil {
			ws.CloseNow()
			t.Fatal("the SSH token of a revoked key still opens a tunnel")
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("tunnel with a revoked key's SSH token: %v, want 401", err)
		}
	})

	t.Run("concurrent session quota", func(t *testing.T) {
		c.must("user", "quota", "set", "mallory@example.com", "--execs", "1", "--tunnels", "1")
		defer c.must("user", "quota", "set", "mallory@example.com", "--execs", "-1", "--tunnels", "-1")
		key := c.login(t, "mallory@example.com")
		c.openSessions(t, key, "box", "exec", "pty")
		for _, path := range []string{"/exec/stream", "/tunnel"} {
			h := http.Header{"Authorization": {"Bearer " + key}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ws, resp, err := websocket.Dial(ctx, c.wsURL("/api/v1/sandboxes/box"+path), &websocket.DialOptions{HTTPClient: c.HTTP, HTTPHeader: h})
			cancel()
			if err == nil {
				ws.CloseNow()
				t.Fatalf("a second %s opened past a quota of 1", path)
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("a second %s: %v, want 403", path, err)
			}
		}
	})
}

// login logs email in with the test password and returns the new key.
func (c *cluster) login(t *testing.T, email string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": "correct horse battery"})
	resp, err := c.HTTP.Post(c.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %v", email, resp.StatusCode, err)
	}
	return out.Token
}

// wantRefused checks that key gets a 401 whose detail mentions word.
func (c *cluster) wantRefused(t *testing.T, key, word string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Detail string }
	json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(p.Detail, word) {
		t.Fatalf("GET /me with the key: %d %q, want 401 mentioning %q", resp.StatusCode, p.Detail, word)
	}
}

// liveSessions are a streaming exec, a terminal and a tunnel, each proven
// to work before the attack's revocation.
type liveSessions struct {
	names []string
	done  []chan struct{} // closed when the session's WebSocket ends
	stop  context.CancelFunc
}

// openSessions opens sessions as key on sandbox ref: of the kinds named
// ("exec", "pty", "tunnel"), or all three.
func (c *cluster) openSessions(t *testing.T, key, ref string, kinds ...string) *liveSessions {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &liveSessions{stop: cancel}
	dial := func(path string) *websocket.Conn {
		t.Helper()
		h := http.Header{"Authorization": {"Bearer " + key}}
		ws, resp, err := websocket.Dial(ctx, c.wsURL(path), &websocket.DialOptions{HTTPClient: c.HTTP, HTTPHeader: h})
		if err != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Fatalf("dial %s: %d %v", path, status, err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		return ws
	}
	readUntil := func(ws *websocket.Conn, want string) {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		var seen strings.Builder
		for !strings.Contains(seen.String(), want) {
			_, b, err := ws.Read(rctx)
			if err != nil {
				t.Fatalf("waiting for %q: %v (saw %q)", want, err, seen.String())
			}
			var m streamMsg
			if json.Unmarshal(b, &m) == nil && m.Data != nil {
				b = m.Data
			}
			seen.Write(b)
		}
	}
	watch := func(name string, ws *websocket.Conn) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					return
				}
			}
		}()
		s.names, s.done = append(s.names, name), append(s.done, done)
	}

	want := func(kind string) bool { return len(kinds) == 0 || slices.Contains(kinds, kind) }
	if want("exec") {
		exec := dial("/api/v1/sandboxes/" + ref + "/exec/stream")
		b, _ := json.Marshal(execRequest{Shell: "echo ready; sleep 600"})
		if err := exec.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		readUntil(exec, "ready")
		watch("streaming exec", exec)
	}
	if want("pty") {
		pty := dial("/api/v1/sandboxes/" + ref + "/pty?cols=80&rows=24")
		if err := pty.Write(ctx, websocket.MessageBinary, []byte("echo $((6*7))\n")); err != nil {
			t.Fatal(err)
		}
		readUntil(pty, "42")
		watch("terminal", pty)
	}
	if want("tunnel") {
		tunnel := dial("/api/v1/sandboxes/" + ref + "/tunnel")
		readUntil(tunnel, "SSH-2.0-") // the agent's banner, through the runner
		watch("tunnel", tunnel)
	}
	return s
}

// wantEnded waits, with a deadline, for every session to end.
func (s *liveSessions) wantEnded(t *testing.T) {
	t.Helper()
	deadline := time.After(revokeDeadline)
	for i, done := range s.done {
		select {
		case <-done:
		case <-deadline:
			t.Fatalf("the %s was still open %s after the revocation", s.names[i], revokeDeadline)
		}
	}
	s.stop()
}

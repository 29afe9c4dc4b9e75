package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

type receivedHook struct {
	Listening int    `json:"listening"`
	ID        string `json:"id"`
	Verified  bool   `json:"verified"`
	Type      string `json:"type"`
	Sandbox   string `json:"sandbox"`
	Error     string `json:"error"`
	Status    int    `json:"status"`
}

// startNodeReceiver runs testdata/webhook-receiver: a receiver that checks
// signatures with the standardwebhooks npm package (an implementation of
// the spec independent of CodePod's), answering 500 to the first failFirst
// requests. It returns its URL and its requests as they come.
func startNodeReceiver(t *testing.T, secretFile string, failFirst int) (string, <-chan receivedHook) {
	t.Helper()
	node := testenv.Command(t, "node")
	npm := testenv.Command(t, "npm")
	dir, err := filepath.Abs(filepath.Join("testdata", "webhook-receiver"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil {
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	cmd := exec.Command(node, "receiver.mjs", secretFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FAIL_FIRST="+string(rune('0'+failFirst)))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ch := make(chan receivedHook, 100)
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatal("the receiver printed nothing")
	}
	var first receivedHook
	if err := json.Unmarshal(sc.Bytes(), &first); err != nil || first.Listening == 0 {
		t.Fatalf("receiver's first line %q", sc.Text())
	}
	go func() {
		defer close(ch)
		for sc.Scan() {
			var h receivedHook
			if json.Unmarshal(sc.Bytes(), &h) == nil {
				ch <- h
			}
		}
	}()
	return "http://127.0.0.1:" + hookItoa(first.Listening) + "/hooks", ch
}

func hookItoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func nextHook(t *testing.T, ch <-chan receivedHook) receivedHook {
	t.Helper()
	select {
	case h, ok := <-ch:
		if !ok {
			t.Fatal("the receiver ended")
		}
		return h
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook within 60s")
	}
	return receivedHook{}
}

// TestWebhooksEndToEnd: through the CLI and a real server, events of a
// sandbox reach a receiver that verifies them with the standardwebhooks
// package — after a 500 (retried), in order, a test ping, and a rotated
// secret whose old value still verifies during the overlap.
func TestWebhooksEndToEnd(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, nil, 0o600)
	url, hooks := startNodeReceiver(t, secretFile, 1)
	c := newCluster(t, "--webhook-allow-net", "127.0.0.1/32")

	// The SSRF guard: a private address is refused with a clear message.
	if _, errOut, code := c.cli("webhook", "create", "http://10.1.2.3/hooks"); code == 0 || !strings.Contains(errOut, "private address") {
		t.Errorf("webhook to 10.1.2.3: exit %d, %s", code, errOut)
	}
	out := c.must("webhook", "create", url, "--event", "sandbox.created", "--event", "sandbox.deleted", "--description", "e2e")
	lines := strings.Fields(out)
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "whsec_") {
		t.Fatalf("webhook create printed %q; want the id and the secret", out)
	}
	id, secret := lines[0], lines[1]
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if list := c.must("webhook", "list"); !strings.Contains(list, id) || strings.Contains(list, secret) {
		t.Errorf("webhook list shows the secret or misses the endpoint:\n%s", list)
	}

	sb := c.must("sandbox", "create", "hooked", "--image", "codepod/tiny:latest")
	c.must("sandbox", "delete", "hooked")

	// The first attempt gets a 500; the retry (about 5 s later) verifies.
	h := nextHook(t, hooks)
	if !h.Verified || h.Type != "sandbox.created" || h.Status != 500 {
		t.Fatalf("first request: %+v; want a verified sandbox.created answered 500", h)
	}
	h2 := nextHook(t, hooks)
	if !h2.Verified || h2.Type != "sandbox.created" || h2.ID != h.ID || h2.Sandbox != strings.TrimSpace(sb) || h2.Status != 204 {
		t.Fatalf("second request: %+v; want the same sandbox.created (id %s, sandbox %s) retried and verified", h2, h.ID, sb)
	}
	h3 := nextHook(t, hooks)
	if !h3.Verified || h3.Type != "sandbox.deleted" {
		t.Fatalf("third request: %+v; want a verified sandbox.deleted, after the created", h3)
	}

	var ds []struct {
		EventType string `json:"event_type"`
		Status    string `json:"status"`
		Attempts  int    `json:"attempts"`
	}
	if err := json.Unmarshal([]byte(c.must("webhook", "deliveries", id, "-o", "json")), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].EventType != "sandbox.created" || ds[0].Attempts != 2 || ds[0].Status != "succeeded" || ds[1].Status != "succeeded" {
		t.Errorf("delivery log: %+v", ds)
	}

	// Rotation: the receiver still holds the old secret; during the
	// overlap messages carry both signatures, so it still verifies.
	newSecret := strings.TrimSpace(c.must("webhook", "rotate-secret", id, "--keep-old", "1h"))
	if !strings.HasPrefix(newSecret, "whsec_") || newSecret == secret {
		t.Fatalf("rotate-secret printed %q", newSecret)
	}
	c.must("webhook", "test", id)
	if h := nextHook(t, hooks); !h.Verified || h.Type != "webhook.test" {
		t.Errorf("test ping after rotation, verified with the old secret: %+v", h)
	}
	os.WriteFile(secretFile, []byte(newSecret), 0o600)
	c.must("webhook", "test", id)
	if h := nextHook(t, hooks); !h.Verified {
		t.Errorf("test ping verified with the new secret: %+v", h)
	}
	// A receiver with a wrong secret refuses: the check can fail.
	os.WriteFile(secretFile, []byte("whsec_"+strings.Repeat("A", 43)+"="), 0o600)
	c.must("webhook", "test", id)
	if h := nextHook(t, hooks); h.Verified {
		t.Errorf("a ping verified with a wrong secret: %+v", h)
	}
}

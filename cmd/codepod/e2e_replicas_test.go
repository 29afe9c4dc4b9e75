package main_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// newReplicas starts two `codepod server` processes on one fresh
// PostgreSQL database, each advertising its own URL; the first bootstraps
// the admin, the second starts on the existing database.
func newReplicas(t *testing.T) (a, b *cluster) {
	t.Helper()
	db := testenv.PostgresURL(t)
	a = newClusterWith(t, clusterOptions{DatabaseURL: db, Advertise: true})
	b = newClusterWith(t, clusterOptions{DatabaseURL: db, Advertise: true, AdminKey: a.AdminKey})
	return a, b
}

// TestTwoReplicas is "the server keeps no state the database does not
// hold": one runner polls replica A, and everything goes through replica B.
// The runner's poll is held 25 s on A, so a create that runs within 15 s
// and an exec (whose client waits 10 s for the dial-back) prove that B's
// jobs wake A's poll at once (LISTEN/NOTIFY), and the exec proves the
// runner dialed its tunnel back to B (A's broker does not expect it).
func TestTwoReplicas(t *testing.T) {
	a, b := newReplicas(t)
	a.startRunner("r1", t.TempDir())
	waitRunnerOnline(t, b)
	time.Sleep(time.Second) // let the runner's poll settle into its wait on A

	id := b.must("sandbox", "create", "multi", "--image", "codepod/tiny:latest", "--wait", "--timeout", "15s")
	for i := range 2 { // a fresh tunnel each time: the CLI opens its own
		r := b.run(cliOpts{}, "sandbox", "exec", "multi", "--", "sh", "-c", "echo hello from $(hostname)")
		if r.code != 0 || !strings.HasPrefix(string(r.stdout), "hello from ") {
			t.Fatalf("exec %d through replica B: exit %d, stdout %q, stderr %q", i, r.code, r.stdout, r.stderr)
		}
	}
	var res execResult
	b.mustAPI("POST", "/api/v1/sandboxes/multi/exec", execRequest{Shell: "echo pooled"}, &res, http.StatusOK)
	if res.Stdout != "pooled\n" || res.ExitCode != 0 {
		t.Fatalf("REST exec through replica B: %+v", res)
	}

	for _, c := range []*cluster{a, b} {
		if s := c.get("multi"); s.ID != id || s.Status != "running" {
			t.Fatalf("get on %s: %+v", c.URL, s)
		}
		var list []sandbox
		if err := json.Unmarshal([]byte(c.must("sandbox", "list", "-o", "json")), &list); err != nil || len(list) != 1 || list[0].ID != id {
			t.Fatalf("list on %s: %+v (%v)", c.URL, list, err)
		}
	}

	a.must("sandbox", "delete", "multi")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(containers(t, id)) > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	if got := containers(t, id); len(got) != 0 {
		t.Fatalf("containers after delete through A: %v", got)
	}
	if _, errOut, code := b.cli("sandbox", "get", "multi"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("get on B after delete: exit %d, %q", code, errOut)
	}
}

// waitRunnerOnline waits until c lists one runner, online.
func waitRunnerOnline(t *testing.T, c *cluster) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var runners []struct{ Status string }
		if err := json.Unmarshal([]byte(c.must("runner", "list", "-o", "json")), &runners); err == nil &&
			len(runners) == 1 && runners[0].Status == "online" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the runner did not come online")
}

package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A sandbox asked for with runtime gvisor goes through the whole path — the
// API, placement on a runner that advertises gVisor, the runner's create
// under runsc, the agent reached in its network namespace — and its
// processes see gVisor's kernel.
func TestGVisorSandboxEndToEnd(t *testing.T) {
	c := sharedCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var runners struct {
		Items []struct {
			Runtimes []string `json:"runtimes"`
		} `json:"items"`
	}
	if err := c.call(ctx, "GET", "/api/v1/runners", nil, &runners, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if len(runners.Items) == 0 || !strings.Contains(strings.Join(runners.Items[0].Runtimes, ","), "gvisor") {
		t.Fatalf("runners = %+v; the test runner should advertise gvisor (is runsc registered with Docker? .ci/run does it)", runners.Items)
	}
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", map[string]any{"name": "under-gvisor", "image": "codepod/tiny:latest", "memory": "128m", "runtime": "gvisor"}, &sb, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteSandbox(t, c, sb.ID) })
	if st := waitSettled(ctx, t, c, sb.ID); st != "running" {
		t.Fatalf("gvisor sandbox is %s, not running", st)
	}
	var got struct {
		Runtime string `json:"runtime"`
	}
	if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &got, http.StatusOK); err != nil || got.Runtime != "gvisor" {
		t.Fatalf("sandbox runtime %q (%v); want gvisor", got.Runtime, err)
	}
	res := c.exec(ctx, t, sb.ID, map[string]any{"shell": "dmesg | head -1; uname -r"})
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "Starting gVisor") {
		t.Fatalf("dmesg inside a gvisor sandbox: %+v; want gVisor's boot line", res)
	}
}

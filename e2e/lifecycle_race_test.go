package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/codepod-dev/codepod/runner/docker"
)

// Agents do everything at once: 50 clients stopping, starting and deleting
// one sandbox at the same moment end with the sandbox in one settled state
// and exactly the container that state implies on the Docker Engine — none
// when deleted, one that runs when running, one that does not when stopped.
func TestConcurrentLifecycleMatchesDocker(t *testing.T) {
	c := sharedCluster(t)
	for round, actions := range [][]string{{"stop", "start"}, {"stop", "start"}, {"stop", "start", "delete"}, {"stop", "start", "delete"}} {
		t.Run(fmt.Sprintf("round %d %v", round, actions), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sb := runningSandbox(ctx, t, c, fmt.Sprintf("race-%d", round))
			deletes := slices.Contains(actions, "delete")
			if !deletes {
				t.Cleanup(func() { deleteSandbox(t, c, sb.ID) })
			}
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					action := actions[rand.IntN(len(actions))]
					if deletes && i == 25 {
						action = "delete" // at least one
					}
					method, path := "POST", "/api/v1/sandboxes/"+sb.ID+"/"+action
					if action == "delete" {
						method, path = "DELETE", "/api/v1/sandboxes/"+sb.ID
					}
					status, body, err := c.raw(ctx, method, path, nil, "")
					// 200: done; 409: refused with a reason (stopping a sandbox
					// that is starting, …); 404: deleted already.
					if err != nil || (status != http.StatusOK && status != http.StatusConflict && status != http.StatusNotFound) {
						t.Errorf("%s: %d %s %v", action, status, body, err)
					}
				})
			}
			wg.Wait()
			settled := waitSettled(ctx, t, c, sb.ID)
			running, exist := containerOf(ctx, t, c, sb.ID)
			switch {
			case deletes && settled != "deleted":
				t.Fatalf("after concurrent deletes the sandbox is %s; want deleted", settled)
			case settled == "deleted" && exist > 0:
				t.Fatalf("the deleted sandbox still has %d containers", exist)
			case settled == "running" && (exist != 1 || !running):
				t.Fatalf("the sandbox is running, but Docker has %d containers (running: %v)", exist, running)
			case settled == "stopped" && (exist != 1 || running):
				t.Fatalf("the sandbox is stopped, but Docker has %d containers (running: %v)", exist, running)
			case settled == "error":
				t.Fatalf("the sandbox ended in error")
			}
			t.Logf("settled %s", settled)
		})
	}
}

// runningSandbox creates a tiny sandbox and waits until it runs; the
// caller deletes it.
func runningSandbox(ctx context.Context, t *testing.T, c *cluster, name string) *sandbox {
	t.Helper()
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", map[string]any{"name": name, "image": "codepod/tiny:latest", "memory": "32m"}, &sb, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	if st := waitSettled(ctx, t, c, sb.ID); st != "running" {
		t.Fatalf("sandbox %s is %s, not running", name, st)
	}
	return &sb
}

// waitSettled waits until the sandbox is gone (deleted) or in a status no
// job is moving, and returns it.
func waitSettled(ctx context.Context, t *testing.T, c *cluster, id string) string {
	t.Helper()
	for {
		var sb sandbox
		status, _, _ := c.raw(ctx, "GET", "/api/v1/sandboxes/"+id, nil, "")
		if status == http.StatusNotFound {
			return "deleted"
		}
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+id, nil, &sb, http.StatusOK); err == nil {
			switch sb.Status {
			case "running", "stopped", "error", "deleted":
				return sb.Status
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("sandbox %s did not settle: %s", id, sb.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// containerOf counts the Docker containers labelled with sandbox id and
// says whether one runs.
func containerOf(ctx context.Context, t *testing.T, c *cluster, id string) (running bool, n int) {
	t.Helper()
	list, err := c.Docker.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelSandbox+"="+id))})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range list {
		running = running || ct.State == "running"
	}
	return running, len(list)
}

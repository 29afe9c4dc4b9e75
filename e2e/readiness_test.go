package e2e_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// readinessCycles is how many create → first exec cycles
// TestCreateThenExecNeverFails runs: CODEPOD_TEST_READINESS_CYCLES, or 24
// (.ci/with-stress runs the suite again with 200 while stress-ng loads
// every CPU).
func readinessCycles(t *testing.T) int {
	if v := os.Getenv("CODEPOD_TEST_READINESS_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CODEPOD_TEST_READINESS_CYCLES=%q is not a positive number", v)
		}
		return n
	}
	return 24
}

// Running means reachable: the first exec after a sandbox reports running
// succeeds every time, however busy the machine is (it once failed with 503
// "could not reach the agent" when the runner reported running before the
// agent listened).
func TestCreateThenExecNeverFails(t *testing.T) {
	c := sharedCluster(t)
	cycles := readinessCycles(t)
	const parallel = 4
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cycles)*15*time.Second/parallel+time.Minute)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
	)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range cycles {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range parallel {
		wg.Go(func() {
			for i := range next {
				if err := createThenExec(ctx, t, c, fmt.Sprintf("ready-%d", i)); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d create → first exec cycles failed; first: %s", len(failures), cycles, failures[0])
	}
}

// createThenExec creates a sandbox, waits until it is running, runs one
// command at once and deletes the sandbox.
func createThenExec(ctx context.Context, t *testing.T, c *cluster, name string) error {
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", map[string]any{"name": name, "image": "codepod/tiny:latest", "memory": "32m"}, &sb, 201); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	defer deleteSandbox(t, c, sb.ID)
	for sb.Status != "running" {
		if sb.Status == "error" || ctx.Err() != nil {
			return fmt.Errorf("sandbox %s is %s (%s)", name, sb.Status, sb.Reason)
		}
		time.Sleep(20 * time.Millisecond)
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &sb, 200); err != nil {
			return err
		}
	}
	var res execResult
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", map[string]any{"command": []string{"echo", name}}, &res, 200); err != nil {
		return fmt.Errorf("first exec in %s: %w", name, err)
	}
	if res.ExitCode != 0 || res.Stdout != name+"\n" {
		return fmt.Errorf("first exec in %s: %+v", name, res)
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// execPhase starts a real runner (`codepod runner`, on the local Docker
// Engine, labelled load=real), creates sandboxes of codepod/tiny:latest on
// it, waits until they run, and then makes execs of `true` through the
// REST API, all at once, rounds times. The sandboxes are deleted and the
// runner stopped at the end.
func execPhase(ctx context.Context, srv *server, cl *client, token string, sandboxes, execs, rounds int, logs io.Writer) (percentiles, error) {
	stop, err := startRunner(srv, token, logs)
	if err != nil {
		return percentiles{}, err
	}
	defer stop()
	var ids []string
	defer func() { cleanupSandboxes(cl, srv.adminKey, ids) }()
	for i := range sandboxes {
		var sb struct{ ID string }
		body := map[string]any{"name": fmt.Sprintf("exec-%d", i), "image": "codepod/tiny:latest", "memory": "64m",
			"runner_labels": map[string]string{"load": "real"}}
		if err := cl.do(ctx, http.MethodPost, "/api/v1/sandboxes", srv.adminKey, body, &sb, http.StatusCreated); err != nil {
			return percentiles{}, fmt.Errorf("create exec sandbox: %w", err)
		}
		ids = append(ids, sb.ID)
	}
	for _, id := range ids {
		if err := waitRunning(ctx, cl, srv.adminKey, id); err != nil {
			return percentiles{}, err
		}
		if _, err := execTrue(ctx, cl, srv.adminKey, id); err != nil { // the first opens the SSH connection
			return percentiles{}, err
		}
	}
	var lat []time.Duration
	var mu sync.Mutex
	var firstErr error
	for range rounds {
		var wg sync.WaitGroup
		for i := range execs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := execTrue(ctx, cl, srv.adminKey, ids[i%len(ids)])
				mu.Lock()
				defer mu.Unlock()
				lat = append(lat, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
			}()
		}
		wg.Wait()
	}
	if firstErr != nil {
		return percentiles{}, firstErr
	}
	return percentilesOf(lat), nil
}

func execTrue(ctx context.Context, cl *client, key, id string) (time.Duration, error) {
	var res struct {
		ExitCode int `json:"exit_code"`
	}
	t := time.Now()
	err := cl.do(ctx, http.MethodPost, "/api/v1/sandboxes/"+id+"/exec", key, map[string]any{"command": []string{"true"}}, &res, http.StatusOK)
	d := time.Since(t)
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("exec true in %s: exit code %d", id, res.ExitCode)
	}
	return d, err
}

func waitRunning(ctx context.Context, cl *client, key, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		var sb struct{ Status, Reason string }
		if err := cl.do(ctx, http.MethodGet, "/api/v1/sandboxes/"+id, key, nil, &sb, http.StatusOK); err != nil {
			return err
		}
		switch sb.Status {
		case "running":
			return nil
		case "error", "lost", "deleted":
			return fmt.Errorf("exec sandbox %s is %s: %s", id, sb.Status, sb.Reason)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("exec sandbox %s is %s after 2m: %s", id, sb.Status, sb.Reason)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// cleanupSandboxes deletes the exec sandboxes and waits (30s at most) for
// the runner to remove their containers.
func cleanupSandboxes(cl *client, key string, ids []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range ids {
		cl.do(ctx, http.MethodDelete, "/api/v1/sandboxes/"+id, key, nil, nil, http.StatusOK)
	}
	for _, id := range ids {
		for ctx.Err() == nil {
			err := cl.do(ctx, http.MethodGet, "/api/v1/sandboxes/"+id, key, nil, nil, http.StatusNotFound)
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// startRunner starts `codepod runner` (the server's binary, with
// codepod-agent next to it) in a new state directory.
func startRunner(srv *server, token string, logs io.Writer) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "codepod-load-runner-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(srv.cmd.Path, "runner", "--server", srv.url, "--token", token, "--state-dir", dir,
		"--name", "real-0", "--label", "load=real", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start runner: %w", err)
	}
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}, nil
}

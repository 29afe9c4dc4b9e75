package codepod_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

func TestSandboxLifecycle(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{
		Name: "sdk-go-life", Image: tinyImage, CPU: 0.5, Memory: "64m",
		Env: map[string]string{"GREETING": "hi"}, Labels: map[string]string{"suite": "sdk-go"},
		TTL: time.Hour, Network: codepod.NetworkNone,
	})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	defer sb.Close()
	info := sb.Info()
	if info.Status != codepod.StatusRunning || info.Name != "sdk-go-life" || info.Memory != "64m" || info.Env["GREETING"] != "hi" {
		t.Fatalf("created sandbox = %+v, want running sdk-go-life with 64m and GREETING", info)
	}
	if info.HostKeyFingerprint == "" || info.ExpiresAt == nil {
		t.Errorf("host key %q, expires %v: want both set", info.HostKeyFingerprint, info.ExpiresAt)
	}

	byName, err := c.Sandbox(ctx, "sdk-go-life")
	if err != nil || byName.ID() != sb.ID() {
		t.Fatalf("Sandbox(name) = %v, %v; want id %s", byName, err, sb.ID())
	}
	list, err := c.ListSandboxes(ctx, &codepod.ListOptions{Labels: map[string]string{"suite": "sdk-go"}, Status: []string{codepod.StatusRunning}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := sandboxIDs(list); !slices.Equal(ids, []string{sb.ID()}) {
		t.Errorf("ListSandboxes(label suite=sdk-go) = %v, want [%s]", ids, sb.ID())
	}

	if err := sb.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	waitGone(t, c, sb.ID())
	_, err = c.Sandbox(ctx, sb.ID())
	assertKind(t, err, codepod.ErrNotFound, "Sandbox(deleted)")
	_, err = sb.Exec(ctx, []string{"true"}, nil)
	assertKind(t, err, codepod.ErrNotFound, "Exec on a deleted sandbox")
	if err := sb.Close(); err != nil {
		t.Errorf("Close after Delete = %v, want nil", err)
	}
}

func TestErrorsCarryTheProblem(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()

	_, err := c.CreateSandbox(ctx, codepod.CreateOptions{Image: tinyImage, Memory: "12zb"})
	var e *codepod.Error
	if !errors.As(err, &e) || !errors.Is(err, codepod.ErrInvalid) {
		t.Fatalf("CreateSandbox(memory 12zb) = %v, want ErrInvalid", err)
	}
	if e.Status != 422 || e.Detail == "" || e.RequestID == "" || e.Instance != "/api/v1/sandboxes" {
		t.Errorf("problem = %+v, want 422 with detail, request id and instance", e)
	}

	bad, err := codepod.NewClient(codepod.WithServerURL(c.ServerURL()), codepod.WithAPIKey("cpk_nope_nope"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.ListSandboxes(ctx, nil)
	assertKind(t, err, codepod.ErrUnauthorized, "ListSandboxes with a wrong key")

	_, err = c.Sandbox(ctx, "no-such-sandbox")
	assertKind(t, err, codepod.ErrNotFound, "Sandbox(no-such-sandbox)")
}

func TestCreateTimesOutAndCleansUp(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()
	// No runner carries this label: the sandbox stays pending.
	_, err := c.CreateSandbox(ctx, codepod.CreateOptions{
		Name: "sdk-go-unplaceable", Image: tinyImage, RunnerLabels: map[string]string{"gpu": "h100"},
		WaitTimeout: time.Second,
	})
	assertKind(t, err, codepod.ErrTimeout, "CreateSandbox that cannot be placed")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	_, err = c.Sandbox(ctx, "sdk-go-unplaceable")
	assertKind(t, err, codepod.ErrNotFound, "the sandbox of a timed-out create")
}

func TestNewClientNeedsAKey(t *testing.T) {
	t.Setenv("CODEPOD_API_KEY", "")
	if _, err := codepod.NewClient(codepod.WithServerURL("http://127.0.0.1:1")); err == nil {
		t.Fatal("NewClient without a key succeeded, want an error that says how to give one")
	}
}

func assertKind(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: error = %v, want %v", what, err, kind)
	}
	var e *codepod.Error
	if !errors.As(err, &e) || e.Detail == "" {
		t.Errorf("%s: error %v is not an *Error with a detail", what, err)
	}
}

func sandboxIDs(list []codepod.SandboxInfo) []string {
	var ids []string
	for _, s := range list {
		ids = append(ids, s.Id)
	}
	return ids
}

// waitGone waits until the sandbox is no longer listed.
func waitGone(t *testing.T, c *codepod.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list, err := c.ListSandboxes(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(sandboxIDs(list), id) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("sandbox %s is still listed 30s after Delete", id)
}

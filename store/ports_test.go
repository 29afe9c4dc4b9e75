package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

// testPorts: ports open (again, keeping their secret), list, close, and
// go with their sandbox.
func testPorts(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	owner := newUser(t, db, "ports@example.com")
	s := &codepod.Sandbox{Name: "ports", OwnerID: owner.ID, Spec: codepod.SandboxSpec{Image: "debian:bookworm"}}
	must(t, db.CreateSandbox(ctx, s))
	p := &codepod.SandboxPort{SandboxID: s.ID, Port: 8000, Label: "web"}
	must(t, db.OpenPort(ctx, p))
	if len(p.Secret) != 32 || p.CreatedAt.IsZero() {
		t.Fatalf("opened port: %+v", p)
	}
	again := &codepod.SandboxPort{SandboxID: s.ID, Port: 8000, Public: true, Label: "api"}
	must(t, db.OpenPort(ctx, again))
	if !bytes.Equal(again.Secret, p.Secret) || !again.Public || again.Label != "api" {
		t.Errorf("opened again: %+v; want the first secret, public, label api", again)
	}
	must(t, db.OpenPort(ctx, &codepod.SandboxPort{SandboxID: s.ID, Port: 3000}))
	list, err := db.SandboxPorts(ctx, s.ID)
	must(t, err)
	if len(list) != 2 || list[0].Port != 3000 || list[1].Port != 8000 {
		t.Fatalf("ports: %+v", list)
	}
	must(t, db.ClosePort(ctx, s.ID, 3000))
	wantCode(t, db.ClosePort(ctx, s.ID, 3000), codepod.ENOTFOUND)
	_, err = db.SandboxPort(ctx, s.ID, 3000)
	wantCode(t, err, codepod.ENOTFOUND)
	must(t, db.OpenPort(ctx, &codepod.SandboxPort{SandboxID: s.ID, Port: 3000}))
	reopened, err := db.SandboxPort(ctx, s.ID, 3000)
	must(t, err)
	if bytes.Equal(reopened.Secret, list[0].Secret) {
		t.Error("a port closed and opened again kept its old secret: old links would work again")
	}
}

// testIdle: idle_at starts at creation + idle timeout, moves only forward
// without changing the version, and IdleSandboxes lists running sandboxes
// past it.
func testIdle(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	owner := newUser(t, db, "idle@example.com")
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	idle := &codepod.Sandbox{Name: "idle", OwnerID: owner.ID, Status: codepod.SandboxRunning, CreatedAt: t0, UpdatedAt: t0,
		Spec: codepod.SandboxSpec{Image: "debian:bookworm", IdleTimeout: time.Minute}}
	busy := &codepod.Sandbox{Name: "busy", OwnerID: owner.ID, Status: codepod.SandboxRunning, CreatedAt: t0, UpdatedAt: t0,
		Spec: codepod.SandboxSpec{Image: "debian:bookworm", IdleTimeout: time.Minute}}
	never := &codepod.Sandbox{Name: "never", OwnerID: owner.ID, Status: codepod.SandboxRunning, CreatedAt: t0, UpdatedAt: t0,
		Spec: codepod.SandboxSpec{Image: "debian:bookworm"}}
	for _, s := range []*codepod.Sandbox{idle, busy, never} {
		must(t, db.CreateSandbox(ctx, s))
	}
	if idle.IdleAt == nil || !idle.IdleAt.Equal(t0.Add(time.Minute)) || never.IdleAt != nil {
		t.Fatalf("idle_at: %v and %v", idle.IdleAt, never.IdleAt)
	}
	must(t, db.TouchSandbox(ctx, busy.ID, t0.Add(3*time.Minute)))
	must(t, db.TouchSandbox(ctx, busy.ID, t0.Add(2*time.Minute))) // never back
	must(t, db.TouchSandbox(ctx, never.ID, t0.Add(3*time.Minute)))
	got, err := db.Sandbox(ctx, busy.ID)
	must(t, err)
	if !got.IdleAt.Equal(t0.Add(3*time.Minute)) || got.Version != busy.Version {
		t.Errorf("touched: idle_at %v version %d; want %v, %d", got.IdleAt, got.Version, t0.Add(3*time.Minute), busy.Version)
	}
	if n, _ := db.Sandbox(ctx, never.ID); n.IdleAt != nil {
		t.Errorf("a touch gave a sandbox without idle timeout idle_at %v", n.IdleAt)
	}
	list, err := db.IdleSandboxes(ctx, t0.Add(2*time.Minute), 10)
	must(t, err)
	if len(list) != 1 || list[0].ID != idle.ID {
		t.Errorf("idle at +2m: %+v; want only %s", list, idle.ID)
	}
	wantCode(t, db.TouchSandbox(ctx, "sbx_missing", t0), codepod.ENOTFOUND)
}

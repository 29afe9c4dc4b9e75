package control_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

// TestAttackQuotaRace has one user fire 20 creates at once, through two
// Services on one database (two replicas, so no in-process lock helps):
// with a quota of 5, exactly 5 succeed and the rest name the limit.
func TestAttackQuotaRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		other := control.New(openStore(t, url), testConfig())
		five := 5
		if _, err := e.st.UpdateUser(e.ctx, e.alice.ID, codepod.UserUpdate{Quota: &codepod.QuotaOverride{Sandboxes: &five}}); err != nil {
			t.Fatal(err)
		}
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			svc := e.svc
			if i%2 == 1 {
				svc = other
			}
			wg.Go(func() {
				_, err := svc.CreateSandbox(e.ctx, e.alice, "", codepod.SandboxSpec{Image: codepod.TinyImage})
				switch {
				case err == nil:
					ok.Add(1)
				case codepod.ErrorCode(err) == codepod.EFORBIDDEN && strings.Contains(err.Error(), "5 of 5 sandboxes"):
					refused.Add(1)
				default:
					t.Errorf("create: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 5 || refused.Load() != 15 {
			t.Fatalf("%d creates succeeded and %d were refused; want 5 and 15", ok.Load(), refused.Load())
		}
		// A user at quota does not block anyone else.
		e.create(e.admin, "admin-box", codepod.SandboxSpec{Image: codepod.TinyImage})
		e.create(e.bob, "bob-box", codepod.SandboxSpec{Image: codepod.TinyImage})
	})
}

func TestQuotaLimitsCPUAndMemoryAndIgnoresDeadSandboxes(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		cfg := testConfig()
		cfg.Quota = &codepod.Quota{Sandboxes: 2, CPU: 2, MemoryBytes: 1 << 30}
		e := newEnv(t, url, cfg)
		_, err := e.svc.CreateSandbox(e.ctx, e.alice, "big", codepod.SandboxSpec{Image: codepod.TinyImage, CPU: 3})
		wantErr(t, err, codepod.EFORBIDDEN, "quota exceeded", "CPUs")
		_, err = e.svc.CreateSandbox(e.ctx, e.alice, "fat", codepod.SandboxSpec{Image: codepod.TinyImage, MemoryBytes: 2 << 30})
		wantErr(t, err, codepod.EFORBIDDEN, "quota exceeded", "memory")
		a := e.create(e.alice, "a", codepod.SandboxSpec{Image: codepod.TinyImage})
		e.create(e.alice, "b", codepod.SandboxSpec{Image: codepod.TinyImage})
		_, err = e.svc.CreateSandbox(e.ctx, e.alice, "c", codepod.SandboxSpec{Image: codepod.TinyImage})
		wantErr(t, err, codepod.EFORBIDDEN, "2 of 2 sandboxes in use", "delete one or ask an admin")
		// A sandbox in error holds no container and frees its slot.
		bad := codepod.SandboxError
		cur, err := e.st.Sandbox(e.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.UpdateSandbox(e.ctx, a.ID, cur.Version, codepod.SandboxUpdate{Status: &bad}); err != nil {
			t.Fatal(err)
		}
		e.create(e.alice, "c", codepod.SandboxSpec{Image: codepod.TinyImage})
		usage, err := e.svc.QuotaUsage(e.ctx, e.alice)
		if err != nil || usage.Sandboxes != 2 {
			t.Fatalf("QuotaUsage = %+v, %v; want 2 sandboxes", usage, err)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("host", nil, wire.Capacity{Sandboxes: 10, MemoryBytes: 8 << 30})
		sb := e.create(e.alice, "box", codepod.SandboxSpec{Image: codepod.TinyImage})
		e.ok(r, e.pollOne(r, "create", sb.ID))

		_, err := e.svc.DeleteUser(e.ctx, e.alice.ID, false)
		wantErr(t, err, codepod.ECONFLICT, "force")
		gone, err := e.svc.DeleteUser(e.ctx, e.alice.ID, true)
		if err != nil || gone {
			t.Fatalf("DeleteUser(force) = %v, %v; want the user kept until the runner removes the container", gone, err)
		}
		u, err := e.st.User(e.ctx, e.alice.ID)
		if err != nil || !u.Disabled() || !u.Deleting {
			t.Fatalf("user after forced delete: %+v, %v; want disabled and deleting", u, err)
		}
		e.wantStatus(sb.ID, codepod.SandboxDeleting, "")
		e.ok(r, e.pollOne(r, "delete", sb.ID))
		if err := e.svc.Housekeep(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.User(e.ctx, e.alice.ID); codepod.ErrorCode(err) != codepod.ENOTFOUND {
			t.Fatalf("user still there after its last sandbox was deleted: %v", err)
		}
		// Without sandboxes a user goes at once.
		gone, err = e.svc.DeleteUser(e.ctx, e.bob.ID, false)
		if err != nil || !gone {
			t.Fatalf("DeleteUser(bob) = %v, %v", gone, err)
		}
	})
}

func wantErr(t *testing.T, err error, code string, words ...string) {
	t.Helper()
	if codepod.ErrorCode(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	for _, w := range words {
		if !strings.Contains(codepod.ErrorMessage(err), w) {
			t.Fatalf("error %q does not mention %q", codepod.ErrorMessage(err), w)
		}
	}
}

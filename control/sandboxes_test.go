package control_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

func TestCreateWaitsForARunner(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		key := &codepod.SSHKey{UserID: e.alice.ID, Name: "laptop", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG8z alice@laptop", Fingerprint: "SHA256:alice"}
		if err := e.st.CreateSSHKey(e.ctx, key); err != nil {
			t.Fatal(err)
		}
		sb := e.create(e.alice, "box", codepod.SandboxSpec{Image: codepod.TinyImage, TTL: time.Hour})
		if sb.Status != codepod.SandboxPending || sb.RunnerID != "" || !strings.Contains(sb.Reason, "waiting for a runner") {
			t.Fatalf("new sandbox: status %s, runner %q, reason %q; want pending, no runner, a reason", sb.Status, sb.RunnerID, sb.Reason)
		}
		if len(sb.SSHSecret) != 32 || sb.ExpiresAt == nil || sb.ExpiresAt.Sub(sb.CreatedAt) != time.Hour {
			t.Fatalf("new sandbox: secret of %d bytes, expires %v (created %v); want 32 bytes and created+1h", len(sb.SSHSecret), sb.ExpiresAt, sb.CreatedAt)
		}

		r := e.runner("r1", nil, wire.Capacity{})
		j := e.pollOne(r, wire.KindCreate, sb.ID)
		p := j.Sandbox
		if j.Attempt != 1 || p == nil || p.ID != sb.ID || p.Image != codepod.TinyImage || p.MemoryBytes != codepod.DefaultLimits.DefaultMemory || p.Network != codepod.NetworkNone {
			t.Fatalf("create job = %+v, payload %+v; want attempt 1 and the sandbox's normalised spec", j, p)
		}
		if !bytes.Equal(p.SSHSecret, sb.SSHSecret) || len(p.AuthorizedKeys) != 1 || p.AuthorizedKeys[0] != key.PublicKey {
			t.Fatalf("create payload carries secret %x and keys %q; want the sandbox's secret and alice's key", p.SSHSecret, p.AuthorizedKeys)
		}
		e.wantStatus(sb.ID, codepod.SandboxCreating, "")
		if got := e.get(sb.ID); got.RunnerID != r.ID {
			t.Fatalf("sandbox placed on %q; want %s", got.RunnerID, r.ID)
		}
	})
}

func TestSandboxLifecycle(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.create(e.alice, "", codepod.SandboxSpec{})
		if !regexp.MustCompile(`^sb-[a-z0-9]{6}$`).MatchString(sb.Name) {
			t.Fatalf("generated name %q; want sb-xxxxxx", sb.Name)
		}
		if sb.RunnerID != r.ID || sb.Reason != "" {
			t.Fatalf("sandbox placed on %q (%q); want %s at once", sb.RunnerID, sb.Reason, r.ID)
		}

		e.ok(r, e.pollOne(r, wire.KindCreate, sb.ID))
		if got := e.wantStatus(sb.ID, codepod.SandboxRunning, ""); got.HostKeyFingerprint != "SHA256:test" || got.Reason != "" {
			t.Fatalf("running sandbox: fingerprint %q, reason %q", got.HostKeyFingerprint, got.Reason)
		}
		_, err := e.svc.StartSandbox(e.ctx, e.alice, sb.Name)
		wantCode(t, err, codepod.ECONFLICT)

		got, err := e.svc.StopSandbox(e.ctx, e.alice, sb.Name)
		if err != nil || got.Status != codepod.SandboxStopping {
			t.Fatalf("stop = %v, %v; want stopping", got, err)
		}
		e.ok(r, e.pollOne(r, wire.KindStop, sb.ID))
		e.wantStatus(sb.ID, codepod.SandboxStopped, "")
		_, err = e.svc.StopSandbox(e.ctx, e.alice, sb.ID)
		wantCode(t, err, codepod.ECONFLICT)
		if !strings.Contains(codepod.ErrorMessage(err), "stopped already") {
			t.Fatalf("stop of a stopped sandbox says %q", codepod.ErrorMessage(err))
		}

		if got, err = e.svc.StartSandbox(e.ctx, e.alice, sb.ID); err != nil || got.Status != codepod.SandboxStarting {
			t.Fatalf("start = %v, %v; want starting", got, err)
		}
		start := e.pollOne(r, wire.KindStart, sb.ID)
		if !bytes.Equal(start.Sandbox.SSHSecret, sb.SSHSecret) {
			t.Fatal("start job lacks the SSH secret")
		}
		e.ok(r, start)
		e.wantStatus(sb.ID, codepod.SandboxRunning, "")

		if got, err = e.svc.DeleteSandbox(e.ctx, e.alice, sb.Name); err != nil || got.Status != codepod.SandboxDeleting {
			t.Fatalf("delete = %v, %v; want deleting", got, err)
		}
		e.ok(r, e.pollOne(r, wire.KindDelete, sb.ID))
		e.wantStatus(sb.ID, codepod.SandboxDeleted, "")

		_, err = e.svc.GetSandbox(e.ctx, e.alice, sb.ID)
		wantCode(t, err, codepod.ENOTFOUND)
		_, err = e.svc.DeleteSandbox(e.ctx, e.alice, sb.ID)
		wantCode(t, err, codepod.ENOTFOUND)
		list, _, err := e.svc.ListSandboxes(e.ctx, e.alice, codepod.SandboxFilter{})
		if err != nil || len(list) != 0 {
			t.Fatalf("list = %d sandboxes, %v; want none (deleted are hidden)", len(list), err)
		}
		list, _, _ = e.svc.ListSandboxes(e.ctx, e.alice, codepod.SandboxFilter{IncludeDeleted: true})
		if len(list) != 1 {
			t.Fatalf("list with deleted = %d; want 1", len(list))
		}
		again := e.create(e.alice, sb.Name, codepod.SandboxSpec{})
		if again.ID == sb.ID {
			t.Fatal("the reused name got the old id")
		}
	})
}

func TestFailedJobPutsSandboxInError(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.create(e.alice, "box", codepod.SandboxSpec{Image: "nosuch/image:1"})
		j := e.pollOne(r, wire.KindCreate, sb.ID)
		if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{Error: "image nosuch/image:1 not found"}); err != nil {
			t.Fatal(err)
		}
		e.wantStatus(sb.ID, codepod.SandboxError, "image nosuch/image:1 not found")
		if _, err := e.svc.StartSandbox(e.ctx, e.alice, "box"); err != nil {
			t.Fatalf("start of a sandbox in error: %v", err)
		}
		e.pollOne(r, wire.KindStart, sb.ID)
	})
}

func TestDeleteBeforePlacementAndBeforeDelivery(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		unplaced := e.create(e.alice, "early", codepod.SandboxSpec{})
		got, err := e.svc.DeleteSandbox(e.ctx, e.alice, "early")
		if err != nil || got.Status != codepod.SandboxDeleted {
			t.Fatalf("delete of an unplaced sandbox = %v, %v; want deleted at once", got, err)
		}
		r := e.runner("r1", nil, wire.Capacity{})
		queued := e.create(e.alice, "queued", codepod.SandboxSpec{})
		if _, err := e.svc.DeleteSandbox(e.ctx, e.alice, queued.ID); err != nil {
			t.Fatal(err)
		}
		// The create job was cancelled: only the delete job is delivered,
		// and nothing at all for the unplaced one.
		jobs := e.poll(r, wire.PollRequest{WaitSeconds: 1})
		if len(jobs) != 1 || jobs[0].Kind != wire.KindDelete || jobs[0].SandboxID != queued.ID {
			t.Fatalf("jobs = %s; want only the delete of %s (not %s)", describe(jobs), queued.ID, unplaced.ID)
		}
	})
}

func TestSandboxesOfOtherUsersAreNotFound(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		sb := e.create(e.alice, "mine", codepod.SandboxSpec{})
		for _, ref := range []string{sb.ID, sb.Name} {
			_, err := e.svc.GetSandbox(e.ctx, e.bob, ref)
			wantCode(t, err, codepod.ENOTFOUND)
			_, err = e.svc.StopSandbox(e.ctx, e.bob, ref)
			wantCode(t, err, codepod.ENOTFOUND)
			_, err = e.svc.StartSandbox(e.ctx, e.bob, ref)
			wantCode(t, err, codepod.ENOTFOUND)
			_, err = e.svc.DeleteSandbox(e.ctx, e.bob, ref)
			wantCode(t, err, codepod.ENOTFOUND)
		}
		list, _, err := e.svc.ListSandboxes(e.ctx, e.bob, codepod.SandboxFilter{OwnerID: e.alice.ID})
		if err != nil || len(list) != 0 {
			t.Fatalf("bob lists %d of alice's sandboxes (%v); want 0", len(list), err)
		}
		e.wantStatus(sb.ID, codepod.SandboxPending, "")

		if got, err := e.svc.GetSandbox(e.ctx, e.admin, sb.ID); err != nil || got.OwnerID != e.alice.ID {
			t.Fatalf("admin get = %v, %v", got, err)
		}
		list, _, err = e.svc.ListSandboxes(e.ctx, e.admin, codepod.SandboxFilter{})
		if err != nil || len(list) != 1 {
			t.Fatalf("admin lists %d sandboxes (%v); want 1", len(list), err)
		}
	})
}

func TestBadCreateStoresNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		e.runner("r1", nil, wire.Capacity{})
		e.create(e.alice, "taken", codepod.SandboxSpec{})
		cases := []struct {
			name string
			spec codepod.SandboxSpec
			code string
			msg  string
		}{
			{"taken", codepod.SandboxSpec{}, codepod.ECONFLICT, `"taken" already exists`},
			{"Bad_Name", codepod.SandboxSpec{}, codepod.EINVALID, "name"},
			{"small", codepod.SandboxSpec{MemoryBytes: 1024}, codepod.EINVALID, "memory"},
			{"img", codepod.SandboxSpec{Image: "UPPER CASE"}, codepod.EINVALID, "image"},
			{"net", codepod.SandboxSpec{Network: "host"}, codepod.EINVALID, "network"},
			{"ttl", codepod.SandboxSpec{TTL: time.Millisecond}, codepod.EINVALID, "ttl"},
		}
		for _, c := range cases {
			_, err := e.svc.CreateSandbox(e.ctx, e.alice, c.name, c.spec)
			wantCode(t, err, c.code)
			if !strings.Contains(codepod.ErrorMessage(err), c.msg) {
				t.Errorf("create %q: message %q lacks %q", c.name, codepod.ErrorMessage(err), c.msg)
			}
		}
		list, _, _ := e.svc.ListSandboxes(e.ctx, e.admin, codepod.SandboxFilter{IncludeDeleted: true})
		jobs, _ := e.st.CountJobsByStatus(e.ctx)
		if len(list) != 1 || jobs[codepod.JobQueued] != 1 {
			t.Fatalf("after bad creates: %d sandboxes, %d queued jobs; want 1 and 1", len(list), jobs[codepod.JobQueued])
		}
	})
}

package control_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
	"github.com/codepod-dev/codepod/wire"
)

func TestRegisterAndAuthenticateRunner(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		req := wire.RegisterRequest{Name: "host-1", Labels: map[string]string{"arch": "amd64"}, Capacity: wire.Capacity{Sandboxes: 4}}
		resp, err := e.svc.RegisterRunner(e.ctx, e.registrationToken, req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp.Credential, "cpr_"+resp.RunnerID+"_") {
			t.Fatalf("credential %q; want cpr_%s_…", resp.Credential, resp.RunnerID)
		}
		stored, err := e.st.Runner(e.ctx, resp.RunnerID)
		if err != nil || !bytes.Equal(stored.SecretHash, secret.Hash(resp.Credential)) || stored.Capacity.Sandboxes != 4 || stored.Labels["arch"] != "amd64" {
			t.Fatalf("stored runner = %+v, %v; want the credential's hash, capacity and labels", stored, err)
		}
		r, err := e.svc.AuthenticateRunner(e.ctx, resp.Credential)
		if err != nil || r.ID != resp.RunnerID {
			t.Fatalf("authenticate = %v, %v", r, err)
		}
		forged := secret.New(secret.RunnerCred, resp.RunnerID).Full
		for _, bad := range []string{"", "cpr_x", forged, e.registrationToken, resp.Credential + "x"} {
			_, err := e.svc.AuthenticateRunner(e.ctx, bad)
			wantCode(t, err, codepod.EUNAUTHORIZED)
			if codepod.ErrorMessage(err) != "invalid runner credential" {
				t.Errorf("authenticate %q says %q", bad, codepod.ErrorMessage(err))
			}
		}

		id, _ := secret.Parse(secret.RunnerToken, e.registrationToken)
		forgedToken := secret.New(secret.RunnerToken, id).Full
		for _, bad := range []string{"", "cpt_nope", forgedToken, resp.Credential} {
			_, err := e.svc.RegisterRunner(e.ctx, bad, req)
			wantCode(t, err, codepod.EUNAUTHORIZED)
		}
		past := time.Now().Add(-time.Minute)
		old := secret.New(secret.RunnerToken, secret.NewID("rt"))
		if err := e.st.CreateRunnerToken(e.ctx, &codepod.RunnerToken{ID: old.ID, Prefix: old.Prefix, Hash: old.Hash, ExpiresAt: &past}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.RegisterRunner(e.ctx, old.Full, req)
		wantCode(t, err, codepod.EUNAUTHORIZED)
		if !strings.Contains(codepod.ErrorMessage(err), "expired") {
			t.Fatalf("expired token says %q", codepod.ErrorMessage(err))
		}
		_, err = e.svc.RegisterRunner(e.ctx, e.registrationToken, wire.RegisterRequest{Name: "bad name!"})
		wantCode(t, err, codepod.EINVALID)
	})
}

func TestOfflineRunnerLosesItsSandboxes(t *testing.T) {
	t.Parallel() // waits on timeouts, not on the CPU
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		e.run(e.svc)
		r := e.runner("r1", nil, wire.Capacity{})
		up := e.create(e.alice, "up", codepod.SandboxSpec{})
		e.ok(r, e.pollOne(r, wire.KindCreate, up.ID))
		down := e.create(e.alice, "down", codepod.SandboxSpec{})
		e.ok(r, e.pollOne(r, wire.KindCreate, down.ID))
		if _, err := e.svc.StopSandbox(e.ctx, e.alice, "down"); err != nil {
			t.Fatal(err)
		}
		e.ok(r, e.pollOne(r, wire.KindStop, down.ID))
		if n := e.metric("codepod_runners_online", nil); n != 1 {
			t.Fatalf("codepod_runners_online = %v; want 1", n)
		}

		// No poll for RunnerTimeout (2s): offline, and its sandboxes lost.
		eventually(t, 5*time.Second, "sandboxes lost", func() bool {
			return e.get(up.ID).Status == codepod.SandboxLost && e.get(down.ID).Status == codepod.SandboxLost
		})
		e.wantStatus(up.ID, codepod.SandboxLost, "runner r1 went offline")
		if got, _ := e.st.Runner(e.ctx, r.ID); got.Status != codepod.RunnerOffline {
			t.Fatalf("runner status %s; want offline", got.Status)
		}
		if n := e.metric("codepod_runners_online", nil); n != 0 {
			t.Fatalf("codepod_runners_online = %v; want 0", n)
		}
		waiting := e.create(e.alice, "waiting", codepod.SandboxSpec{})
		if waiting.RunnerID != "" {
			t.Fatal("a sandbox was placed on an offline runner")
		}

		// It comes back and reports what it runs.
		r, _ = e.st.Runner(e.ctx, r.ID)
		inv := []wire.SandboxState{{ID: up.ID, State: wire.StateRunning}, {ID: down.ID, State: wire.StateStopped}}
		jobs := e.poll(r, wire.PollRequest{Reconcile: true, Sandboxes: inv, WaitSeconds: 2})
		e.wantStatus(up.ID, codepod.SandboxRunning, "")
		e.wantStatus(down.ID, codepod.SandboxStopped, "")
		if len(jobs) != 1 || jobs[0].SandboxID != waiting.ID {
			t.Fatalf("poll after coming back = %s; want the create job of the waiting sandbox", describe(jobs))
		}
	})
}

func TestPendingSandboxOfAnOfflineRunnerMovesOn(t *testing.T) {
	t.Parallel() // waits on timeouts, not on the CPU
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		e.run(e.svc)
		silent := e.runner("silent", nil, wire.Capacity{})
		sb := e.create(e.alice, "box", codepod.SandboxSpec{})
		if sb.RunnerID != silent.ID {
			t.Fatalf("placed on %q; want %s", sb.RunnerID, silent.ID)
		}
		eventually(t, 5*time.Second, "the sandbox unplaced", func() bool { return e.get(sb.ID).RunnerID == "" })
		e.wantStatus(sb.ID, codepod.SandboxPending, "waiting for") // why depends on whether placement ran since

		next := e.runner("next", nil, wire.Capacity{})
		if j := e.pollOne(next, wire.KindCreate, sb.ID); j.Attempt != 1 {
			t.Fatalf("attempt %d; want 1", j.Attempt)
		}
		if jobs := e.pollNow(silent); len(jobs) != 0 {
			t.Fatalf("the runner back from offline got %s; its create job was cancelled", describe(jobs))
		}
	})
}

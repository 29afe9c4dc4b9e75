package gateway_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

func TestSessionsLimitAndRevoke(t *testing.T) {
	r := gateway.NewSessions(gateway.SessionsConfig{Check: func(context.Context, gateway.Principal) error { return nil }})
	ada1 := gateway.Principal{UserID: "usr_ada", KeyID: "key_1"}
	ada2 := gateway.Principal{UserID: "usr_ada", KeyID: "key_2"}
	ctx := context.Background()
	c1, rel1, err := r.Open(ctx, ada1, gateway.SessionExec, 2)
	if err != nil {
		t.Fatal(err)
	}
	c2, _, err := r.Open(ctx, ada2, gateway.SessionExec, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Open(ctx, ada1, gateway.SessionExec, 2); codepod.ErrorCode(err) != codepod.EFORBIDDEN {
		t.Fatalf("third exec with a limit of 2: %v, want EFORBIDDEN", err)
	}
	ct, _, err := r.Open(ctx, ada1, gateway.SessionTunnel, 2)
	if err != nil {
		t.Fatalf("tunnels count apart from execs: %v", err)
	}
	rel1()
	if n := r.Count("usr_ada", gateway.SessionExec); n != 1 {
		t.Fatalf("Count after release = %d, want 1", n)
	}
	if c1.Err() == nil {
		t.Fatal("a released session's context is still live")
	}
	revoked := codepod.Errorf(codepod.EUNAUTHORIZED, "the API key was revoked")
	if n := r.RevokeKey("key_1", revoked); n != 1 {
		t.Fatalf("RevokeKey ended %d sessions, want 1 (the tunnel)", n)
	}
	if !errors.Is(context.Cause(ct), revoked) || c2.Err() != nil {
		t.Fatalf("after RevokeKey: tunnel cause %v, other key's exec %v", context.Cause(ct), c2.Err())
	}
	if n := r.RevokeUser("usr_ada", revoked); n != 1 || c2.Err() == nil {
		t.Fatalf("RevokeUser ended %d sessions, want 1", n)
	}
}

// TestSessionsRecheckEndsRevokedPrincipal stands in for a revocation made on
// another replica: only the periodic check can see it.
func TestSessionsRecheckEndsRevokedPrincipal(t *testing.T) {
	var revoked atomic.Bool
	r := gateway.NewSessions(gateway.SessionsConfig{Recheck: 20 * time.Millisecond,
		Check: func(_ context.Context, p gateway.Principal) error {
			if revoked.Load() && p.KeyID == "key_bad" {
				return codepod.Errorf(codepod.EUNAUTHORIZED, "revoked")
			}
			if p.KeyID == "key_flaky" {
				return errors.New("database is down")
			}
			return nil
		}})
	bad, relBad, _ := r.Open(context.Background(), gateway.Principal{UserID: "u", KeyID: "key_bad"}, gateway.SessionTunnel, 0)
	defer relBad()
	flaky, relFlaky, _ := r.Open(context.Background(), gateway.Principal{UserID: "u", KeyID: "key_flaky"}, gateway.SessionTunnel, 0)
	defer relFlaky()
	revoked.Store(true)
	select {
	case <-bad.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked principal's session outlived 5s of rechecks")
	}
	if flaky.Err() != nil {
		t.Fatal("a failing check (not a revocation) ended a session")
	}
}

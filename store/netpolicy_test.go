package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/codepod-dev/codepod"
)

// testSandboxSpecUpdate: a spec write (a network policy change) replaces
// the stored spec under the version condition.
func testSandboxSpecUpdate(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	owner := newUser(t, db, "np@example.com")
	s := &codepod.Sandbox{Name: "np", OwnerID: owner.ID, Spec: codepod.SandboxSpec{Image: "debian:bookworm", Network: codepod.NetworkBridge,
		NetworkPolicy: &codepod.NetworkPolicy{Mode: codepod.PolicyInternet}}}
	must(t, db.CreateSandbox(ctx, s))
	spec := s.Spec
	spec.NetworkPolicy = &codepod.NetworkPolicy{Mode: codepod.PolicyAllow, Allow: []string{"10.0.0.0/8", "203.0.113.7:443"}}
	got, err := db.UpdateSandbox(ctx, s.ID, s.Version, codepod.SandboxUpdate{Spec: &spec})
	must(t, err)
	if got.Version != s.Version+1 || !reflect.DeepEqual(got.Spec, spec) {
		t.Fatalf("after the update: version %d spec %+v; want %d, %+v", got.Version, got.Spec, s.Version+1, spec)
	}
	again, err := db.Sandbox(ctx, s.ID)
	must(t, err)
	if !reflect.DeepEqual(again.Spec.NetworkPolicy, spec.NetworkPolicy) {
		t.Errorf("read back %+v, want %+v", again.Spec.NetworkPolicy, spec.NetworkPolicy)
	}
	if _, err := db.UpdateSandbox(ctx, s.ID, s.Version, codepod.SandboxUpdate{Spec: &s.Spec}); err != codepod.ErrVersionConflict {
		t.Errorf("a stale spec write: %v, want ErrVersionConflict", err)
	}
}

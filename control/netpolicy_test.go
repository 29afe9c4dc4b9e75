package control_test

import (
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// A policy change on a running sandbox is stored and sent to its runner
// as a network job carrying the newer version, without a status change;
// a stopped one takes it with its start job; a sandbox without a policy,
// or someone else's, cannot change.
func TestSetNetworkPolicy(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		spec := codepod.SandboxSpec{Image: codepod.TinyImage, NetworkPolicy: &codepod.NetworkPolicy{Mode: codepod.PolicyInternet}}
		sb := e.create(e.alice, "np", spec)
		create := e.pollOne(r, wire.KindCreate, sb.ID)
		if p := create.Sandbox.NetworkPolicy; p == nil || p.Mode != codepod.PolicyInternet || create.Sandbox.Network != codepod.NetworkBridge {
			t.Fatalf("create payload network %q policy %+v; want bridge + internet", create.Sandbox.Network, p)
		}
		e.ok(r, create)
		running := e.wantStatus(sb.ID, codepod.SandboxRunning, "")

		got, err := e.svc.SetNetworkPolicy(e.ctx, e.alice, "np", codepod.NetworkPolicy{Mode: codepod.PolicyAllow, Allow: []string{"10.1.2.3/8:443"}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != codepod.SandboxRunning || got.Spec.NetworkPolicy.Allow[0] != "10.0.0.0/8:443" {
			t.Fatalf("after the change: %s, %+v", got.Status, got.Spec.NetworkPolicy)
		}
		j := e.pollOne(r, wire.KindNetwork, sb.ID)
		if p := j.Sandbox.NetworkPolicy; p == nil || p.Mode != codepod.PolicyAllow || p.Version <= running.Version || p.Version != got.Version {
			t.Fatalf("network job policy %+v; want allow at version %d", p, got.Version)
		}
		e.ok(r, j)
		e.wantStatus(sb.ID, codepod.SandboxRunning, "")

		wantCode(t, errOf(e.svc.SetNetworkPolicy(e.ctx, e.bob, "np", codepod.NetworkPolicy{Mode: codepod.PolicyNone})), codepod.ENOTFOUND)
		wantCode(t, errOf(e.svc.SetNetworkPolicy(e.ctx, e.alice, "np", codepod.NetworkPolicy{Mode: "open"})), codepod.EINVALID)
		plain := e.create(e.alice, "plain", codepod.SandboxSpec{Image: codepod.TinyImage, Network: codepod.NetworkBridge})
		wantCode(t, errOf(e.svc.SetNetworkPolicy(e.ctx, e.alice, plain.ID, codepod.NetworkPolicy{Mode: codepod.PolicyNone})), codepod.ECONFLICT)
		wantCode(t, errOf2(e.svc.NetLog(e.ctx, e.alice, plain.ID)), codepod.ECONFLICT)
	})
}

func errOf(_ *codepod.Sandbox, err error) error { return err }

func errOf2(_ *codepod.Sandbox, _ []wire.NetDenial, err error) error { return err }

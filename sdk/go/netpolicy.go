package codepod

import (
	"context"

	"github.com/codepod-dev/codepod/client"
)

// Network policy modes (see docs/network.md).
const (
	PolicyNone     = "none"     // nothing reachable
	PolicyInternet = "internet" // public addresses only
	PolicyAllow    = "allow"    // only the allow list
)

// NetworkPolicy says what a sandbox may reach: Deny first, then Allow,
// then Mode. Entries are IPv4 addresses or CIDRs, optionally with :port.
type NetworkPolicy struct {
	Mode  string
	Allow []string
	Deny  []string
}

func (p *NetworkPolicy) request() *client.NetworkPolicy {
	if p == nil {
		return nil
	}
	r := &client.NetworkPolicy{Mode: client.NetworkPolicyMode(p.Mode)}
	if len(p.Allow) > 0 {
		r.Allow = &p.Allow
	}
	if len(p.Deny) > 0 {
		r.Deny = &p.Deny
	}
	return r
}

// SetNetworkPolicy replaces the policy of a sandbox created with one; a
// running sandbox's runner applies it without a restart.
func (s *Sandbox) SetNetworkPolicy(ctx context.Context, p NetworkPolicy) error {
	info, err := decode[SandboxInfo](s.c.check(s.c.api.SetSandboxNetworkPolicy(ctx, s.id, *p.request())))
	if err != nil {
		return err
	}
	s.setInfo(*info)
	return nil
}

package netpolicy

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// Reasons a rule refuses, as Denied reports them.
const (
	ReasonDeny       = "deny"        // on the deny list
	ReasonPrivate    = "private"     // a private range, under internet
	ReasonNotAllowed = "not-allowed" // not on the allow list (allow, none)
	ReasonHost       = "host"        // the runner host itself (any of its addresses, the gateway)
)

// anyDest is the destination of the catch-all refusals.
const anyDest = "any"

// chainRules are the iptables-restore lines that fill a sandbox's chain
// (which the caller declares and flushes) for policy p.
func chainRules(chain string, p *wire.PolicyPayload, public []netip.Prefix) ([]string, error) {
	cp := codepod.NetworkPolicy{Mode: p.Mode, Allow: append([]string(nil), p.Allow...), Deny: append([]string(nil), p.Deny...)}
	if err := cp.Normalize(); err != nil {
		return nil, err
	}
	allow, deny, err := cp.Rules()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range deny {
		if r.Domain != "" {
			continue // the egress proxy and DNS responder check names (egress.go)
		}
		out = append(out, match(chain, r, "-m comment --comment "+ReasonDeny+":"+r.String()+" -j REJECT")...)
	}
	for _, r := range allow {
		if r.Domain != "" {
			continue // the egress proxy and DNS responder check names (egress.go)
		}
		out = append(out, match(chain, r, "-j ACCEPT")...)
	}
	if p.Mode == codepod.PolicyInternet {
		for _, pub := range public {
			out = append(out, fmt.Sprintf("-A %s -d %s -j ACCEPT", chain, pub))
		}
		for _, pr := range codepod.PrivateRanges {
			out = append(out, fmt.Sprintf("-A %s -d %s -m comment --comment %s:%s -j REJECT", chain, pr, ReasonPrivate, pr))
		}
		return append(out, fmt.Sprintf("-A %s -j ACCEPT", chain)), nil
	}
	return append(out, fmt.Sprintf("-A %s -m comment --comment %s:%s -j REJECT", chain, ReasonNotAllowed, anyDest)), nil
}

// match is r as rules of chain ending in target: one rule for an address
// or range, one per protocol (TCP, UDP) when it names a port.
func match(chain string, r codepod.NetRule, target string) []string {
	if r.Port == 0 {
		return []string{fmt.Sprintf("-A %s -d %s %s", chain, r.Prefix, target)}
	}
	port := strconv.Itoa(int(r.Port))
	return []string{
		fmt.Sprintf("-A %s -d %s -p tcp --dport %s %s", chain, r.Prefix, port, target),
		fmt.Sprintf("-A %s -d %s -p udp --dport %s %s", chain, r.Prefix, port, target),
	}
}

// domainRules are the domain entries of p's allow and deny lists.
func domainRules(p *wire.PolicyPayload) (allow, deny []codepod.NetRule, err error) {
	for _, l := range []struct {
		in  []string
		out *[]codepod.NetRule
	}{{p.Allow, &allow}, {p.Deny, &deny}} {
		for _, s := range l.in {
			r, err := codepod.ParseNetRule(s)
			if err != nil {
				return nil, nil, err
			}
			if r.Domain != "" {
				*l.out = append(*l.out, r)
			}
		}
	}
	return allow, deny, nil
}

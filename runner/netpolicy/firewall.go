package netpolicy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// Apply makes p the policy of sandbox id at addr, atomically: its chain is
// refilled and its jumps (from CP-FWD and CP-IN) point at addr, replacing
// those of any other sandbox that had addr before. Counts of the replaced
// rules are kept for Denied.
func (f *Firewall) Apply(ctx context.Context, id string, addr netip.Addr, p *wire.PolicyPayload) error {
	if p == nil {
		return fmt.Errorf("sandbox %s: no network policy to apply", id)
	}
	if !addr.Is4() {
		return fmt.Errorf("sandbox %s: address %s is not IPv4", id, addr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.versions[id]; ok && p.Version < v {
		f.cfg.Logger.Info("older network policy ignored", "sandbox_id", id, "version", p.Version, "applied", v)
		return nil
	}
	if err := f.ensureBase(ctx); err != nil {
		return err
	}
	chain := Chain(id)
	rules, err := chainRules(chain, p, f.cfg.Public)
	if err != nil {
		return err
	}
	domains, denyNames, err := domainRules(p)
	if err != nil {
		return err
	}
	named := len(domains) > 0 || len(denyNames) > 0
	allowRules, denyRules, err := (&codepod.NetworkPolicy{Mode: p.Mode, Allow: p.Allow, Deny: p.Deny}).Rules()
	if err != nil {
		return err
	}
	if named {
		if err := f.ensureEgress(ctx); err != nil {
			return fmt.Errorf("sandbox %s: domain allow-list: %w", id, err)
		}
	}
	f.keepCounts(ctx, id)
	lines := []string{":" + chain + " - [0:0]", "-F " + chain}
	lines = append(lines, rules...)
	stale, err := f.jumps(ctx, func(line string) bool {
		return tagged(line, id) || strings.Contains(line, "-s "+addr.String()+"/32 ")
	})
	if err != nil {
		return err
	}
	lines = append(lines, stale...)
	src := addr.String() + "/32"
	lines = append(lines,
		fmt.Sprintf("-I %s 1 -s %s -m comment --comment %s%s -j %s", ChainForward, src, commentTag, id, chain),
		fmt.Sprintf("-I %s 1 -s %s -m comment --comment %s%s -j REJECT", ChainInput, src, commentTag, id))
	nat := f.natJumps(ctx, func(line string) bool {
		return tagged(line, id) || strings.Contains(line, "-s "+addr.String()+"/32 ")
	})
	if named {
		// Only connections the nat chain sent to the egress pass CP-IN:
		// the sandbox dialling the listeners' ports itself is refused.
		lines = append(lines, fmt.Sprintf("-I %s 1 -s %s -m conntrack --ctstate DNAT -m comment --comment %s%s -j ACCEPT", ChainInput, src, commentTag, id))
		nat = append(nat, f.egress.natRules(id, src, allowRules)...)
	}
	if f.egress != nil {
		var denyAddrs []codepod.NetRule
		for _, r := range denyRules {
			if r.Domain == "" {
				denyAddrs = append(denyAddrs, r)
			}
		}
		f.egress.set(addr, &egressSandbox{id: id, mode: p.Mode, rules: domains, denyNames: denyNames, deny: denyAddrs, public: f.cfg.Public})
	}
	if err := f.restore(ctx, lines, nat...); err != nil {
		return err
	}
	f.versions[id] = p.Version
	f.cfg.Logger.Info("network policy applied", "sandbox_id", id, "addr", addr, "mode", p.Mode, "version", p.Version)
	return nil
}

// Remove deletes sandbox id's jumps and chain. The sandbox, if it still
// runs, then reaches nothing (CP-FWD and CP-IN refuse unknown sources).
func (f *Firewall) Remove(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.versions, id)
	delete(f.past, id)
	lines, err := f.jumps(ctx, func(line string) bool { return tagged(line, id) })
	if err != nil {
		return err
	}
	chain := Chain(id)
	if _, err := f.ipt(ctx, "-S", chain); err == nil {
		lines = append(lines, "-F "+chain, "-X "+chain)
	}
	nat := f.natJumps(ctx, func(line string) bool { return tagged(line, id) })
	if f.egress != nil {
		f.egress.forget(id)
	}
	if len(lines) == 0 && len(nat) == 0 {
		return nil
	}
	return f.restore(ctx, lines, nat...)
}

// tagged reports whether an "iptables -S" line carries sandbox id's
// comment (which iptables may print quoted).
func tagged(line, id string) bool {
	return strings.Contains(line+" ", " "+commentTag+id+" ") || strings.Contains(line, `"`+commentTag+id+`"`)
}

// jumps returns "-D" lines for the rules of CP-FWD and CP-IN that pick
// says are to go. Missing chains have no rules.
func (f *Firewall) jumps(ctx context.Context, pick func(line string) bool) ([]string, error) {
	var del []string
	for _, c := range []string{ChainForward, ChainInput} {
		out, err := f.ipt(ctx, "-S", c)
		if err != nil {
			continue // not made yet
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "-A ") && pick(line+" ") {
				del = append(del, "-D "+strings.TrimPrefix(line, "-A "))
			}
		}
	}
	return del, nil
}

// Denied reads the counters of sandbox id's refusing rules (and what
// earlier policies refused), most refused first.
func (f *Firewall) Denied(ctx context.Context, id string) ([]wire.NetDenial, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := f.current(ctx, id)
	for k, c := range f.past[id] {
		add(sum, k, c.NetDenial)
	}
	out := make([]wire.NetDenial, 0, len(sum))
	for _, c := range sum {
		if c.Packets > 0 {
			out = append(out, c.NetDenial)
		}
	}
	slices.SortFunc(out, func(a, b wire.NetDenial) int {
		if a.Packets != b.Packets {
			return int(b.Packets - a.Packets)
		}
		return strings.Compare(a.Reason+a.Destination, b.Reason+b.Destination)
	})
	if f.egress != nil {
		// The egress's refusals, newest first, after the counters.
		d := f.egress.denied(id)
		slices.Reverse(d)
		out = append(out, d...)
	}
	return out, nil
}

// keepCounts moves the current counts of id's rules to f.past before its
// chain is refilled.
func (f *Firewall) keepCounts(ctx context.Context, id string) {
	cur := f.current(ctx, id)
	if f.past[id] == nil {
		f.past[id] = map[string]*counted{}
	}
	for k, c := range cur {
		add(f.past[id], k, c.NetDenial)
	}
}

func add(m map[string]*counted, k string, d wire.NetDenial) {
	if m[k] == nil {
		m[k] = &counted{NetDenial: wire.NetDenial{Destination: d.Destination, Reason: d.Reason}}
	}
	m[k].Packets += d.Packets
}

// current reads the refusing rules' counters of id's chain and its CP-IN
// rule, by reason and destination.
func (f *Firewall) current(ctx context.Context, id string) map[string]*counted {
	sum := map[string]*counted{}
	if out, err := f.ipt(ctx, "-S", Chain(id), "-v"); err == nil {
		for _, line := range strings.Split(out, "\n") {
			reason, dest, n, ok := parseCounted(line)
			if ok {
				add(sum, reason+" "+dest, wire.NetDenial{Reason: reason, Destination: dest, Packets: n})
			}
		}
	}
	if out, err := f.ipt(ctx, "-S", ChainInput, "-v"); err == nil {
		for _, line := range strings.Split(out, "\n") {
			if !tagged(line, id) || !strings.Contains(line, "-j REJECT") {
				continue
			}
			if n, ok := counter(line); ok {
				add(sum, ReasonHost, wire.NetDenial{Reason: ReasonHost, Destination: "the runner host", Packets: n})
			}
		}
	}
	return sum
}

// parseCounted reads "-A C ... --comment reason:dest -c packets bytes -j REJECT".
func parseCounted(line string) (reason, dest string, n int64, ok bool) {
	if !strings.Contains(line, "-j REJECT") {
		return "", "", 0, false
	}
	f := strings.Fields(line)
	i := slices.Index(f, "--comment")
	if i < 0 || i+1 >= len(f) {
		return "", "", 0, false
	}
	reason, dest, ok = strings.Cut(strings.Trim(f[i+1], `"`), ":")
	if !ok {
		return "", "", 0, false
	}
	n, ok = counter(line)
	return reason, dest, n, ok
}

// counter is the packet count of an "iptables -S -v" line ("-c pkts bytes").
func counter(line string) (int64, bool) {
	f := strings.Fields(line)
	i := slices.Index(f, "-c")
	if i < 0 || i+1 >= len(f) {
		return 0, false
	}
	n, err := strconv.ParseInt(f[i+1], 10, 64)
	return n, err == nil
}

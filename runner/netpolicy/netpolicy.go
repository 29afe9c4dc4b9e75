// Package netpolicy enforces sandboxes' network policies with iptables in
// the runner host's network namespace, where root inside a sandbox (which
// holds no NET_ADMIN) cannot touch them. It implements runner.Firewall.
//
// Sandboxes with a policy sit on one runner-owned bridge (Bridge). Two
// jumps send their traffic to CodePod's chains:
//
//	DOCKER-USER: -i Bridge -j CP-FWD   (forwarded: everything off the host)
//	INPUT:       -i Bridge -j CP-IN    (to the host's own addresses, the gateway included)
//
// CP-FWD sends each sandbox's source address to its own chain and refuses
// every other source; CP-IN refuses everything (the runner host is never
// reachable from a policy sandbox). A sandbox's chain holds its deny list,
// its allow list, then its mode (internet: refuse PrivateRanges, accept the
// rest; allow and none: refuse the rest). A refused connection gets an
// ICMP port-unreachable (ECONNREFUSED) and counts on the rule that refused
// it, which is what Denied reads back. docs/network.md explains the model.
package netpolicy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"sync"

	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/wire"
)

// Chains CodePod owns in the filter table.
const (
	ChainForward = "CP-FWD"
	ChainInput   = "CP-IN"
	chainPrefix  = "CP-S-"
	commentTag   = "codepod:"
)

// Config configures a Firewall.
type Config struct {
	// Bridge is the host interface of the policy network (required).
	Bridge string
	// Public are ranges the internet mode treats as public although they
	// lie in codepod.PrivateRanges: for tests, whose stand-in internet is
	// a local bridge, and for operators with public services in such space.
	Public []netip.Prefix
	// Upstream is the DNS server ("ip:port") the egress resolves allowed
	// names with, for the sandboxes and for itself (default: the first
	// nameserver of the runner host's /etc/resolv.conf).
	Upstream string
	// IPTables is the iptables binary (default "iptables").
	IPTables string
	Logger   *slog.Logger
}

// Firewall is runner.Firewall on iptables.
type Firewall struct {
	cfg Config

	mu       sync.Mutex
	versions map[string]int64               // the policy version applied per sandbox
	past     map[string]map[string]*counted // counts of rules replaced by a later Apply
	egress   *egress                        // started with the first domain policy
}

type counted struct {
	wire.NetDenial
}

var _ runner.Firewall = (*Firewall)(nil)

// New checks that iptables runs and returns a Firewall; its chains are
// made on first use.
func New(cfg Config) (*Firewall, error) {
	if cfg.Bridge == "" {
		return nil, fmt.Errorf("netpolicy: a bridge interface is required")
	}
	if cfg.IPTables == "" {
		cfg.IPTables = "iptables"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Upstream == "" {
		cfg.Upstream = hostResolver()
	}
	if _, err := exec.LookPath(cfg.IPTables); err != nil {
		return nil, fmt.Errorf("netpolicy: %s not found (install the iptables package): %w", cfg.IPTables, err)
	}
	return &Firewall{cfg: cfg, versions: map[string]int64{}, past: map[string]map[string]*counted{}}, nil
}

// Chain is the name of sandbox id's own chain.
func Chain(sandboxID string) string {
	h := sha256.Sum256([]byte(sandboxID))
	return chainPrefix + hex.EncodeToString(h[:8])
}

// ipt runs iptables with args (waiting for the xtables lock).
func (f *Firewall) ipt(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, f.cfg.IPTables, append([]string{"-w"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// restore applies rules (iptables-restore lines of the filter table, then
// of the nat table) atomically per table, keeping every other rule.
func (f *Firewall) restore(ctx context.Context, lines []string, nat ...string) error {
	in := "*filter\n" + strings.Join(lines, "\n") + "\nCOMMIT\n"
	if len(nat) > 0 {
		in += "*nat\n" + strings.Join(nat, "\n") + "\nCOMMIT\n"
	}
	cmd := exec.CommandContext(ctx, f.cfg.IPTables+"-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(in)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %w: %s\n%s", err, strings.TrimSpace(string(out)), in)
	}
	return nil
}

// Ready makes CodePod's chains and jumps when they are missing (see
// runner.Firewall).
func (f *Firewall) Ready(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ensureBase(ctx)
}

// ensureBase makes CodePod's chains and jumps when they are missing.
func (f *Firewall) ensureBase(ctx context.Context) error {
	for _, c := range []string{ChainForward, ChainInput} {
		if _, err := f.ipt(ctx, "-S", c); err != nil {
			if _, err := f.ipt(ctx, "-N", c); err != nil && !strings.Contains(err.Error(), "exists") {
				return err
			}
		}
	}
	br := f.cfg.Bridge
	base := []struct {
		chain string
		rule  []string
		last  bool
	}{
		{ChainForward, []string{"-m", "comment", "--comment", "codepod-default", "-j", "REJECT"}, true},
		{ChainInput, []string{"-m", "comment", "--comment", "codepod-default", "-j", "REJECT"}, true},
		{"DOCKER-USER", []string{"-i", br, "-j", ChainForward}, false},
		// Replies to a sandbox's allowed connections, also from other
		// bridges (which Docker's isolation chains would drop).
		{"DOCKER-USER", []string{"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}, false},
		{"INPUT", []string{"-i", br, "-j", ChainInput}, false},
	}
	for _, b := range base {
		if _, err := f.ipt(ctx, append([]string{"-C", b.chain}, b.rule...)...); err == nil {
			continue
		}
		op := []string{"-I", b.chain, "1"}
		if b.last {
			op = []string{"-A", b.chain}
		}
		if _, err := f.ipt(ctx, append(op, b.rule...)...); err != nil {
			return err
		}
	}
	return nil
}

// ensureEgress starts the egress (DNS responder and proxy) on the policy
// bridge's gateway address and makes the nat chain that sends sandboxes
// with domain rules to it.
func (f *Firewall) ensureEgress(ctx context.Context) error {
	if f.egress == nil {
		gw, err := gatewayAddr(f.cfg.Bridge)
		if err != nil {
			return err
		}
		e, err := startEgress(gw, f.cfg.Upstream, f.cfg.Logger.Info)
		if err != nil {
			return err
		}
		f.egress = e
		f.cfg.Logger.Info("egress proxy and DNS responder started", "gateway", gw, "upstream", f.cfg.Upstream)
	}
	if _, err := f.ipt(ctx, "-t", "nat", "-S", chainNAT); err != nil {
		if _, err := f.ipt(ctx, "-t", "nat", "-N", chainNAT); err != nil && !strings.Contains(err.Error(), "exists") {
			return err
		}
	}
	jump := []string{"-t", "nat", "PREROUTING", "-i", f.cfg.Bridge, "-j", chainNAT}
	if _, err := f.ipt(ctx, append([]string{"-C"}, jump...)...); err != nil {
		if _, err := f.ipt(ctx, "-t", "nat", "-I", "PREROUTING", "1", "-i", f.cfg.Bridge, "-j", chainNAT); err != nil {
			return err
		}
	}
	return nil
}

// natJumps returns "-D" lines for the rules of the nat chain that pick
// says are to go.
func (f *Firewall) natJumps(ctx context.Context, pick func(line string) bool) []string {
	out, err := f.ipt(ctx, "-t", "nat", "-S", chainNAT)
	if err != nil {
		return nil
	}
	var del []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "-A ") && pick(line+" ") {
			del = append(del, "-D "+strings.TrimPrefix(line, "-A "))
		}
	}
	return del
}

// Close stops the egress proxy and DNS responder, if started (the rules
// stay: sandboxes with domain rules then reach nothing by name).
func (f *Firewall) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.egress != nil {
		f.egress.close()
		f.egress = nil
	}
	return nil
}

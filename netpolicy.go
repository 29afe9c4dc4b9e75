package codepod

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Network policy modes: what a sandbox with a NetworkPolicy may reach.
const (
	PolicyNone     = "none"     // nothing: every outbound connection is refused
	PolicyInternet = "internet" // public addresses only (PrivateRanges are refused)
	PolicyAllow    = "allow"    // only what the allow list names
)

// MaxPolicyEntries bounds each of a policy's lists.
const MaxPolicyEntries = 256

// NetworkPolicy says what a sandbox may reach. It is enforced on the
// runner, outside the sandbox (docs/network.md): deny entries first, then
// allow entries, then the mode (internet: public addresses; allow and
// none: nothing else). The runner host's own addresses and its bridge
// gateway are refused whatever the lists say.
type NetworkPolicy struct {
	Mode  string   `json:"mode"`
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// NetRule is one parsed allow or deny entry: an IPv4 address or CIDR,
// with a port when Port is not 0 ("10.0.0.0/8", "203.0.113.7:443"), or a
// domain name when Domain is not "" ("example.com", "*.example.com:443").
type NetRule struct {
	Prefix netip.Prefix
	Port   uint16
	// Domain is a lower-case ASCII (IDNA "xn--") name, maybe starting
	// with "*." (any name below it, not the name itself).
	Domain string
}

// MatchHost reports whether a domain rule allows host (a name the
// sandbox asked for) on port: exact names match themselves only;
// "*.example.com" matches every name below example.com (a.example.com,
// a.b.example.com) but not example.com itself. A rule without a port
// allows any port.
func (r NetRule) MatchHost(host string, port uint16) bool {
	if r.Domain == "" || (r.Port != 0 && r.Port != port) {
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if suffix, ok := strings.CutPrefix(r.Domain, "*"); ok {
		return strings.HasSuffix(host, suffix) && len(host) > len(suffix)
	}
	return host == r.Domain
}

// String is the entry in its canonical form.
func (r NetRule) String() string {
	if r.Domain != "" {
		if r.Port != 0 {
			return r.Domain + ":" + strconv.Itoa(int(r.Port))
		}
		return r.Domain
	}
	s := r.Prefix.String()
	if r.Prefix.IsSingleIP() {
		s = r.Prefix.Addr().String()
	}
	if r.Port != 0 {
		s += ":" + strconv.Itoa(int(r.Port))
	}
	return s
}

// PrivateRanges are the IPv4 ranges the internet mode refuses: this host
// and loopback, RFC 1918, CGNAT, link-local (cloud metadata at
// 169.254.169.254), IETF protocol assignments, benchmarking, multicast and
// reserved space.
var PrivateRanges = mustPrefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"224.0.0.0/4", "240.0.0.0/4")

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// ParseNetRule parses an allow or deny entry: an IPv4 address or CIDR,
// optionally followed by :port.
func ParseNetRule(s string) (NetRule, error) {
	host, port := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	var r NetRule
	if port != "" || strings.HasSuffix(s, ":") {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return r, Errorf(EINVALID, "network rule %q: port %q must be 1-65535", s, port)
		}
		r.Port = uint16(n)
	}
	var err error
	if strings.Contains(host, "/") {
		r.Prefix, err = netip.ParsePrefix(host)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(host); err == nil {
			r.Prefix = netip.PrefixFrom(a, a.BitLen())
		}
	}
	switch {
	case err != nil && looksLikeDomain(host):
		d, derr := parseDomain(host)
		if derr != "" {
			return r, Errorf(EINVALID, "network rule %q: %s", s, derr)
		}
		r.Domain = d
		return r, nil
	case err != nil:
		return r, Errorf(EINVALID, "network rule %q must be an IPv4 address or CIDR, optionally with :port (e.g. 203.0.113.0/24 or 203.0.113.7:443)", s)
	case !r.Prefix.Addr().Is4():
		return r, Errorf(EINVALID, "network rule %q: only IPv4 is supported (sandbox networks are IPv4-only)", s)
	}
	r.Prefix = r.Prefix.Masked()
	return r, nil
}

func looksLikeDomain(s string) bool {
	if strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*") {
		return true
	}
	for _, c := range s {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// parseDomain checks a domain entry and returns its canonical form (lower
// case, no trailing dot), or why it is refused.
func parseDomain(s string) (string, string) {
	d := strings.TrimSuffix(strings.ToLower(s), ".")
	name, wild := strings.CutPrefix(d, "*.")
	if len(d) > 253 {
		return "", "a domain name is at most 253 characters"
	}
	if strings.Contains(name, "*") {
		return "", "a wildcard may only be the first label (*.example.com)"
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 && !wild {
		// A single label is more likely a typo than a name to allow.
		return "", "give a full domain name (example.com), a wildcard (*.example.com), an IPv4 address or a CIDR"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", "each label of a domain name has 1-63 characters"
		}
		for _, c := range l {
			switch {
			case c >= 0x80:
				return "", "give an internationalized name in its ASCII (IDNA, xn--) form"
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			default:
				return "", fmt.Sprintf("%q is not allowed in a domain name (letters, digits and '-' only)", c)
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", "a domain label cannot start or end with '-'"
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", "the last label of a domain name cannot be all digits (an IPv4 address is written 203.0.113.7)"
	}
	return d, ""
}

// Normalize checks p and rewrites its entries in canonical form.
func (p *NetworkPolicy) Normalize() error {
	switch p.Mode {
	case PolicyNone, PolicyInternet, PolicyAllow:
	default:
		return Errorf(EINVALID, "network policy mode %q must be %q, %q or %q", p.Mode, PolicyNone, PolicyInternet, PolicyAllow)
	}
	if p.Mode == PolicyNone && len(p.Allow) > 0 {
		return Errorf(EINVALID, "network policy none allows nothing: drop the allow list or use mode allow")
	}
	for _, list := range []*[]string{&p.Allow, &p.Deny} {
		if len(*list) > MaxPolicyEntries {
			return Errorf(EINVALID, "a network policy list holds at most %d entries", MaxPolicyEntries)
		}
		for i, s := range *list {
			r, err := ParseNetRule(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			switch {
			case r.Domain == "":
			case list == &p.Allow && p.Mode != PolicyAllow:
				return Errorf(EINVALID, "network rule %q: a domain name in the allow list needs mode allow (mode %s already reaches every public name; to block names, list them in deny; docs/network.md)", s, p.Mode)
			case list == &p.Deny && p.Mode == PolicyNone:
				return Errorf(EINVALID, "network rule %q: mode none already refuses every name; drop the deny list or use mode internet or allow", s)
			}
			(*list)[i] = r.String()
		}
	}
	return nil
}

// Domains reports whether the policy's allow or deny list names domains
// (then the runner sends the sandbox's DNS and TCP 80/443 through its
// egress proxy, which checks names).
func (p *NetworkPolicy) Domains() bool {
	for _, s := range append(p.Allow[:len(p.Allow):len(p.Allow)], p.Deny...) {
		if r, err := ParseNetRule(s); err == nil && r.Domain != "" {
			return true
		}
	}
	return false
}

// Rules parses the policy's lists (which Normalize has checked).
func (p *NetworkPolicy) Rules() (allow, deny []NetRule, err error) {
	for _, s := range p.Allow {
		r, err := ParseNetRule(s)
		if err != nil {
			return nil, nil, err
		}
		allow = append(allow, r)
	}
	for _, s := range p.Deny {
		r, err := ParseNetRule(s)
		if err != nil {
			return nil, nil, err
		}
		deny = append(deny, r)
	}
	return allow, deny, nil
}

// normalizeNetwork reconciles spec.Network with spec.NetworkPolicy: a
// sandbox with a policy sits on the runner's policy network (shown as
// bridge), so its policy can change while it runs.
func normalizeNetwork(spec *SandboxSpec) error {
	if spec.NetworkPolicy == nil {
		if spec.Network == "" {
			spec.Network = NetworkNone
		}
		if spec.Network != NetworkNone && spec.Network != NetworkBridge {
			return Errorf(EINVALID, "network %q must be %q or %q", spec.Network, NetworkNone, NetworkBridge)
		}
		return nil
	}
	if err := spec.NetworkPolicy.Normalize(); err != nil {
		return err
	}
	if spec.Network == NetworkNone && spec.NetworkPolicy.Mode != PolicyNone {
		return Errorf(EINVALID, "network none cannot carry network policy %s; leave network out (a policy implies a managed bridge)", spec.NetworkPolicy.Mode)
	}
	if spec.Network != "" && spec.Network != NetworkNone && spec.Network != NetworkBridge {
		return Errorf(EINVALID, "network %q must be %q or %q", spec.Network, NetworkNone, NetworkBridge)
	}
	spec.Network = NetworkBridge
	return nil
}

// Describe is a one-line summary for people ("allow 10.0.0.0/8, 1.2.3.4:443; deny …").
func (p *NetworkPolicy) Describe() string {
	if p == nil {
		return ""
	}
	s := p.Mode
	if len(p.Allow) > 0 {
		s += fmt.Sprintf(" allow %s", strings.Join(p.Allow, ","))
	}
	if len(p.Deny) > 0 {
		s += fmt.Sprintf(" deny %s", strings.Join(p.Deny, ","))
	}
	return s
}

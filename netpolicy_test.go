package codepod_test

import (
	"testing"

	"github.com/codepod-dev/codepod"
)

func TestParseNetRule(t *testing.T) {
	good := map[string]string{
		"10.0.0.0/8":        "10.0.0.0/8",
		"10.1.2.3/8":        "10.0.0.0/8",
		"203.0.113.7":       "203.0.113.7",
		"203.0.113.7:443":   "203.0.113.7:443",
		"203.0.113.0/24:80": "203.0.113.0/24:80",
		"1.2.3.4/32":        "1.2.3.4",
		"Example.COM.":      "example.com",
		"*.example.com:443": "*.example.com:443",
		"xn--bcher-kva.de":  "xn--bcher-kva.de",
		"a-b.9x.io":         "a-b.9x.io",
	}
	for in, want := range good {
		r, err := codepod.ParseNetRule(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseNetRule(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/33", "1.2.3.4:0", "1.2.3.4:70000", "1.2.3.4:", "::1", "2001:db8::/32", "1.2.3", "localhost", "bücher.de", "a.*.com", "*", "-a.com", "a_b.com", "a..com", "1.2.3.4.5", "example.com:0"} {
		if _, err := codepod.ParseNetRule(in); codepod.ErrorCode(err) != codepod.EINVALID {
			t.Errorf("ParseNetRule(%q) = %v, want EINVALID", in, err)
		}
	}
}

func TestNormalizeNetworkPolicy(t *testing.T) {
	norm := func(network string, p *codepod.NetworkPolicy) (codepod.SandboxSpec, error) {
		spec := codepod.SandboxSpec{Network: network, NetworkPolicy: p}
		err := codepod.DefaultLimits.Normalize(&spec)
		return spec, err
	}
	spec, err := norm("", &codepod.NetworkPolicy{Mode: "allow", Allow: []string{" 10.1.0.0/16 ", "1.2.3.4:443"}, Deny: []string{"10.1.2.0/24"}})
	if err != nil || spec.Network != codepod.NetworkBridge || spec.NetworkPolicy.Allow[0] != "10.1.0.0/16" {
		t.Fatalf("allow policy: %+v, %v", spec, err)
	}
	spec, err = norm("", &codepod.NetworkPolicy{Mode: "allow", Allow: []string{"API.example.com", "*.wild.test:443", "10.0.0.1"}})
	if err != nil || spec.NetworkPolicy.Allow[0] != "api.example.com" || !spec.NetworkPolicy.Domains() {
		t.Fatalf("domain allow policy: %+v, %v", spec, err)
	}
	// Domain names in deny: on top of internet, and on top of an allow
	// list's wildcard.
	spec, err = norm("", &codepod.NetworkPolicy{Mode: "internet", Deny: []string{"Tracker.example.com", "*.ads.test:443"}})
	if err != nil || spec.NetworkPolicy.Deny[0] != "tracker.example.com" || !spec.NetworkPolicy.Domains() {
		t.Fatalf("internet with a domain deny list: %+v, %v", spec, err)
	}
	if _, err = norm("", &codepod.NetworkPolicy{Mode: "allow", Allow: []string{"*.example.com"}, Deny: []string{"admin.example.com"}}); err != nil {
		t.Fatalf("allow with a domain deny list: %v", err)
	}
	if spec, err = norm("", nil); err != nil || spec.Network != codepod.NetworkNone {
		t.Fatalf("no policy: network %q, %v; want none", spec.Network, err)
	}
	bad := []struct {
		network string
		p       *codepod.NetworkPolicy
	}{
		{"", &codepod.NetworkPolicy{Mode: "open"}},
		{"none", &codepod.NetworkPolicy{Mode: "internet"}},
		{"", &codepod.NetworkPolicy{Mode: "none", Allow: []string{"1.2.3.4"}}},
		{"", &codepod.NetworkPolicy{Mode: "allow", Allow: []string{"nope"}}},
		{"host", &codepod.NetworkPolicy{Mode: "internet"}},
		{"", &codepod.NetworkPolicy{Mode: "internet", Allow: []string{"example.com"}}},
		{"", &codepod.NetworkPolicy{Mode: "none", Deny: []string{"example.com"}}},
	}
	for _, c := range bad {
		if _, err := norm(c.network, c.p); codepod.ErrorCode(err) != codepod.EINVALID {
			t.Errorf("network %q policy %+v: %v, want EINVALID", c.network, c.p, err)
		}
	}
}

func TestDefaultNetworkPolicy(t *testing.T) {
	l := codepod.DefaultLimits
	l.DefaultNetworkPolicy = &codepod.NetworkPolicy{Mode: codepod.PolicyInternet}
	spec := codepod.SandboxSpec{}
	if err := l.Normalize(&spec); err != nil || spec.NetworkPolicy == nil || spec.NetworkPolicy.Mode != codepod.PolicyInternet || spec.Network != codepod.NetworkBridge {
		t.Fatalf("no network asked: %+v, %v; want the default policy", spec, err)
	}
	spec.NetworkPolicy.Mode = codepod.PolicyNone
	if l.DefaultNetworkPolicy.Mode != codepod.PolicyInternet {
		t.Fatal("a sandbox's policy shares the default's memory")
	}
	explicit := codepod.SandboxSpec{Network: codepod.NetworkNone}
	if err := l.Normalize(&explicit); err != nil || explicit.NetworkPolicy != nil || explicit.Network != codepod.NetworkNone {
		t.Fatalf("network none asked: %+v, %v; want no policy", explicit, err)
	}
}

func TestNetRuleMatchHost(t *testing.T) {
	r := func(s string) codepod.NetRule {
		t.Helper()
		x, err := codepod.ParseNetRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		rule, host string
		port       uint16
		want       bool
	}{
		{"allowed.test", "allowed.test", 443, true},
		{"allowed.test", "ALLOWED.test.", 80, true},
		{"allowed.test", "a.allowed.test", 80, false},
		{"allowed.test", "xallowed.test", 80, false},
		{"*.wild.test", "a.wild.test", 80, true},
		{"*.wild.test", "a.b.wild.test", 80, true},
		{"*.wild.test", "wild.test", 80, false},
		{"*.wild.test", "xwild.test", 80, false},
		{"allowed.test:443", "allowed.test", 443, true},
		{"allowed.test:443", "allowed.test", 80, false},
		{"10.0.0.1", "10.0.0.1", 80, false},
	}
	for _, c := range cases {
		if got := r(c.rule).MatchHost(c.host, c.port); got != c.want {
			t.Errorf("%s matches %s:%d = %v, want %v", c.rule, c.host, c.port, got, c.want)
		}
	}
}

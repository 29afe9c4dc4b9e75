package agent_test

import (
	"testing"

	"github.com/codepod-dev/codepod/agent"
)

// TestBannerVersion: the agent's SSH banner carries its build version
// within RFC 4253's alphabet, and the runner reads it back.
func TestBannerVersion(t *testing.T) {
	for _, v := range []string{"v1.2.3", "v0.0.0-20261130-abc", "dev"} {
		b := agent.Banner(v)
		for _, c := range b[len(agent.BannerPrefix):] {
			if c == '-' || c <= ' ' || c > '~' {
				t.Fatalf("banner %q has %q, which RFC 4253 does not allow", b, c)
			}
		}
		if got := agent.BannerVersion("SSH-2.0-" + b + "\r\n"); got != v {
			t.Fatalf("BannerVersion(%q) = %q, want %q", b, got, v)
		}
	}
	if got := agent.BannerVersion("SSH-2.0-OpenSSH_9.2"); got != "" {
		t.Fatalf("BannerVersion of OpenSSH = %q, want none", got)
	}
}

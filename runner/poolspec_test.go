package runner_test

import (
	"strings"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
)

func TestParsePoolSpec(t *testing.T) {
	ok := []struct {
		in   string
		want runner.PoolSpec
	}{
		{"codepod/base:latest=4", runner.PoolSpec{Image: "codepod/base:latest", CPU: 1, MemoryBytes: 512 << 20, Network: "none", Runtime: "runc", Size: 4}},
		{"codepod/tiny:latest=2,cpu=0.5,memory=64m,network=bridge,runtime=gvisor",
			runner.PoolSpec{Image: "codepod/tiny:latest", CPU: 0.5, MemoryBytes: 64 << 20, Network: "bridge", Runtime: "gvisor", Size: 2}},
	}
	for _, c := range ok {
		got, err := runner.ParsePoolSpec(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParsePoolSpec(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "codepod/tiny:latest", "=3", "img=-1", "img=101", "img=x", "img=1,cpu=0", "img=1,memory=lots", "img=1,colour=red"} {
		if _, err := runner.ParsePoolSpec(in); err == nil || !strings.Contains(err.Error(), "IMAGE=N") {
			t.Errorf("ParsePoolSpec(%q) = %v; want an error that shows the syntax", in, err)
		}
	}
	// A pool of the defaults serves a create that names nothing but the image.
	d, _ := runner.ParsePoolSpec(codepod.TinyImage + "=1")
	spec := codepod.SandboxSpec{Image: codepod.TinyImage}
	if err := codepod.DefaultLimits.Normalize(&spec); err != nil {
		t.Fatal(err)
	}
	if d.Key() != codepod.WarmPoolKey(spec) {
		t.Errorf("default pool key %q, a default create's %q", d.Key(), codepod.WarmPoolKey(spec))
	}
	spec.Env = map[string]string{"A": "b"}
	if codepod.WarmPoolKey(spec) != d.Key() {
		t.Error("a create with its own environment does not match the pool: its variables reach the adopted sandbox's sessions")
	}
	spec.Env = nil
	spec.Network = "bridge"
	spec.NetworkPolicy = &codepod.NetworkPolicy{Mode: "internet"}
	if codepod.WarmPoolKey(spec) != "" {
		t.Error("a create with a network policy matches a pool: its member never had the policy's firewall rules")
	}
	spec.Network, spec.NetworkPolicy = "", nil
	for name, mod := range map[string]func(*codepod.SandboxSpec){
		"devcontainer settings": func(s *codepod.SandboxSpec) { s.Devcontainer = &codepod.DevcontainerSpec{} },
		"a build":               func(s *codepod.SandboxSpec) { s.Build = &codepod.BuildSpec{} },
		"a workspace copy":      func(s *codepod.SandboxSpec) { s.Workspace = &codepod.WorkspaceSpec{} },
	} {
		s := spec
		mod(&s)
		if codepod.WarmPoolKey(s) != "" {
			t.Errorf("a create with %s matches a pool: its member started without it", name)
		}
	}
}

package codepod_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod"
)

// TestDevcontainerPolicy: the strict policy refuses every property that
// reaches past the sandbox, naming each; filter drops and lists them; and
// hostRequirements become the spec's resources within the maxima.
func TestDevcontainerPolicy(t *testing.T) {
	risky := func() *codepod.DevcontainerSpec {
		return &codepod.DevcontainerSpec{
			Privileged: true, CapAdd: []string{"SYS_ADMIN"}, SecurityOpt: []string{"seccomp=unconfined"},
			RunArgs: []string{"--pid=host"}, InitializeCommand: &codepod.LifecycleCommand{Shell: "rm -rf ~"},
			Mounts: []codepod.DevcontainerMount{{Type: "volume", Source: "cache", Target: "/cache"}, {Type: "bind", Source: "/", Target: "/host"}},
		}
	}
	l := codepod.DefaultLimits
	spec := codepod.SandboxSpec{Devcontainer: risky()}
	err := l.Normalize(&spec)
	if err == nil || codepod.ErrorCode(err) != codepod.EINVALID {
		t.Fatalf("strict: %v", err)
	}
	for _, p := range []string{"privileged", "capAdd", "securityOpt", "runArgs", "initializeCommand", "mounts[1]"} {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("strict refusal does not name %s: %v", p, err)
		}
	}
	if strings.Contains(err.Error(), "mounts[0]") {
		t.Errorf("a named volume was refused: %v", err)
	}

	l.DevcontainerPolicy = codepod.DevcontainerFilter
	spec = codepod.SandboxSpec{Devcontainer: risky()}
	if err := l.Normalize(&spec); err != nil {
		t.Fatalf("filter: %v", err)
	}
	d := spec.Devcontainer
	if d.Privileged || d.CapAdd != nil || d.InitializeCommand != nil || len(d.Mounts) != 1 ||
		strings.Join(d.Filtered, ",") != "privileged,capAdd,securityOpt,runArgs,initializeCommand,mounts[1]" {
		t.Fatalf("filter kept or lost something: %+v", d)
	}

	l = codepod.DefaultLimits
	spec = codepod.SandboxSpec{Devcontainer: &codepod.DevcontainerSpec{HostRequirements: &codepod.DevcontainerResources{CPUs: 2, MemoryBytes: 1 << 30}}}
	if err := l.Normalize(&spec); err != nil || spec.CPU != 2 || spec.MemoryBytes != 1<<30 {
		t.Fatalf("hostRequirements: %v, cpu %g, memory %d", err, spec.CPU, spec.MemoryBytes)
	}
	// storage is a requirement: the default disk meets a smaller one, a
	// larger one becomes the disk limit, an explicit disk wins.
	for _, c := range []struct{ storage, disk, want int64 }{
		{4 << 30, 0, codepod.DefaultLimits.DefaultDisk}, {32 << 30, 0, 32 << 30}, {32 << 30, 20 << 30, 20 << 30},
	} {
		spec = codepod.SandboxSpec{DiskBytes: c.disk, Devcontainer: &codepod.DevcontainerSpec{HostRequirements: &codepod.DevcontainerResources{StorageBytes: c.storage}}}
		if err := l.Normalize(&spec); err != nil || spec.DiskBytes != c.want {
			t.Fatalf("hostRequirements.storage %d with disk %d: %v, disk %d; want %d", c.storage, c.disk, err, spec.DiskBytes, c.want)
		}
	}
	spec = codepod.SandboxSpec{Devcontainer: &codepod.DevcontainerSpec{HostRequirements: &codepod.DevcontainerResources{StorageBytes: 2 << 40}}}
	if err := l.Normalize(&spec); err == nil || !strings.Contains(err.Error(), "hostRequirements.storage 2t is above this server's maximum disk of 1t") {
		t.Fatalf("storage above the maximum: %v", err)
	}
	spec = codepod.SandboxSpec{Devcontainer: &codepod.DevcontainerSpec{HostRequirements: &codepod.DevcontainerResources{MemoryBytes: 1 << 40}}}
	if err := l.Normalize(&spec); err == nil || !strings.Contains(err.Error(), "hostRequirements.memory 1t is above this server's maximum of 64g") {
		t.Fatalf("hostRequirements above the maximum: %v", err)
	}
	for _, bad := range []codepod.DevcontainerSpec{
		{WaitFor: "never"}, {ShutdownAction: "explode"}, {RemoteUser: "a b"}, {WorkspaceFolder: "rel"},
		{RemoteEnv: map[string]string{"1X": "y"}}, {Mounts: []codepod.DevcontainerMount{{Type: "tmpfs", Target: "/t"}}},
	} {
		spec := codepod.SandboxSpec{Devcontainer: &bad}
		if err := codepod.DefaultLimits.Normalize(&spec); err == nil || !strings.Contains(err.Error(), "devcontainer") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestLifecycleCommandJSON: the three forms round-trip as written.
func TestLifecycleCommandJSON(t *testing.T) {
	for _, in := range []string{`"make deps > /dev/null"`, `["npm","ci"]`, `{"a":"x","b":["y","z"]}`} {
		var c codepod.LifecycleCommand
		if err := json.Unmarshal([]byte(in), &c); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if c.String() != in {
			t.Errorf("%s round-trips as %s", in, c.String())
		}
	}
	for _, bad := range []string{`7`, `[]`, `{"a":{"b":"c"}}`, `[1]`} {
		var c codepod.LifecycleCommand
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

package devcontainer_test

import (
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
)

// TestToSpec: a parsed config becomes the sandbox's devcontainer settings,
// commands in their forms, ports as strings, memory in bytes, and the
// properties the server's policy decides on carried over.
func TestToSpec(t *testing.T) {
	c, err := devcontainer.Parse([]byte(`{
  "image": "x", "remoteUser": "dev", "workspaceFolder": "/w",
  "onCreateCommand": "a", "postCreateCommand": ["b", "c"], "postStartCommand": {"x": "y"},
  "forwardPorts": [3000, "db:5432"], "portsAttributes": {"3000": {"label": "app", "protocol": "http"}},
  "hostRequirements": {"cpus": 2, "memory": "4gb", "storage": "32gb"}, "mounts": ["type=volume,source=cache,target=/c"],
  "privileged": true, "capAdd": ["NET_ADMIN"],
}`))
	if err != nil {
		t.Fatal(err)
	}
	d, err := devcontainer.ToSpec(c)
	if err != nil {
		t.Fatal(err)
	}
	if d.OnCreateCommand.Shell != "a" || strings.Join(d.PostCreateCommand.Args, " ") != "b c" || d.PostStartCommand.Parallel["x"].Shell != "y" {
		t.Errorf("commands: %s %s %s", d.OnCreateCommand, d.PostCreateCommand, d.PostStartCommand)
	}
	if strings.Join(d.ForwardPorts, ",") != "3000,db:5432" || d.PortsAttributes["3000"].Label != "app" {
		t.Errorf("ports: %v %v", d.ForwardPorts, d.PortsAttributes)
	}
	if d.HostRequirements.CPUs != 2 || d.HostRequirements.MemoryBytes != 4<<30 || d.HostRequirements.StorageBytes != 32<<30 {
		t.Errorf("hostRequirements: %+v", d.HostRequirements)
	}
	if len(d.Mounts) != 1 || d.Mounts[0].Source != "cache" || d.Mounts[0].Type != "volume" {
		t.Errorf("mounts: %+v", d.Mounts)
	}
	if !d.Privileged || d.CapAdd[0] != "NET_ADMIN" || d.RemoteUser != "dev" || d.WorkspaceFolder != "/w" {
		t.Errorf("carried over: %+v", d)
	}
}

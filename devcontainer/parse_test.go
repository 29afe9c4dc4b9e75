package devcontainer_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
)

func parse(t *testing.T, src string) *devcontainer.Config {
	t.Helper()
	c, err := devcontainer.Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return c
}

func TestParseJSONC(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		env       map[string]string
	}{
		{"line comment after a value", `{"containerEnv": {"A": "1"} // trailing
		}`, map[string]string{"A": "1"}},
		{"block comment", `{/* x */ "containerEnv": {"A": /* y */ "1"}}`, map[string]string{"A": "1"}},
		{"trailing commas", `{"containerEnv": {"A": "1", "B": "2",},}`, map[string]string{"A": "1", "B": "2"}},
		{"globs in strings are not comments", `{"containerEnv": {"P":"/opt/*/bin","Q":"/usr/*/lib"}}`, map[string]string{"P": "/opt/*/bin", "Q": "/usr/*/lib"}},
		{"// inside a string", `{"containerEnv": {"U": "http://x.test//a", "C": "a /* b */ c"}}`, map[string]string{"U": "http://x.test//a", "C": "a /* b */ c"}},
		{"comment right after a glob string", `{"containerEnv": {"P": "/opt/*/bin" /* real */, "Q": "*/"}}`, map[string]string{"P": "/opt/*/bin", "Q": "*/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parse(t, tc.src)
			if !reflect.DeepEqual(c.ContainerEnv, tc.env) {
				t.Fatalf("containerEnv = %v, want %v", c.ContainerEnv, tc.env)
			}
		})
	}
}

func TestParseErrorsNameTheProblem(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"bad JSON", `{"image": }`, "not valid JSON"},
		{"not an object", `["image"]`, "must be a JSON object"},
		{"image not a string", `{"image": 3}`, `"image": want a string`},
		{"bad port", `{"forwardPorts": [70000]}`, `"forwardPorts": port 70000`},
		{"bad host:port", `{"forwardPorts": ["db:x"]}`, `"forwardPorts": port "db:x"`},
		{"bad command", `{"postCreateCommand": 3}`, `"postCreateCommand": want a string, an array`},
		{"nested parallel", `{"postStartCommand": {"a": {"b": "x"}}}`, `"postStartCommand": "a": parallel commands do not nest`},
		{"empty command array", `{"onCreateCommand": []}`, `"onCreateCommand": a command array needs`},
		{"mount without target", `{"mounts": ["source=x,type=volume"]}`, `"mounts": a mount needs a target`},
		{"bad mount type", `{"mounts": [{"type": "nfs", "target": "/x"}]}`, `mount type "nfs"`},
		{"bad waitFor", `{"waitFor": "never"}`, `"waitFor": "never" is not one of`},
		{"bad shutdownAction", `{"shutdownAction": "kill"}`, `"shutdownAction"`},
		{"build args not strings", `{"build": {"args": {"A": 1}}}`, `"build": want a string at args, got a JSON number`},
		{"feature option object", `{"features": {"x": {"o": {}}}}`, `"features": option "o"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := devcontainer.Parse([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%s) = %v, want an error containing %q", tc.src, err, tc.want)
			}
		})
	}
}

func TestParseLifecycleForms(t *testing.T) {
	c := parse(t, `{
		"onCreateCommand": "make deps",
		"postCreateCommand": ["npm", "ci"],
		"postStartCommand": {"web": "npm start", "db": ["pg_ctl", "start"]}
	}`)
	if got := c.OnCreateCommand.Argv(); !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "make deps"}) {
		t.Errorf("string form: %q", got)
	}
	if got := c.PostCreateCommand.Argv(); !reflect.DeepEqual(got, []string{"npm", "ci"}) {
		t.Errorf("array form: %q", got)
	}
	p := c.PostStartCommand
	if p.Argv() != nil || !reflect.DeepEqual(p.Names(), []string{"db", "web"}) ||
		p.Parallel["web"].Shell != "npm start" || !reflect.DeepEqual(p.Parallel["db"].Args, []string{"pg_ctl", "start"}) {
		t.Errorf("object form: %+v", p)
	}
	if c.PostAttachCommand != nil {
		t.Errorf("unset command: %+v", c.PostAttachCommand)
	}
	b, _ := json.Marshal(c.PostStartCommand)
	if string(b) != `{"db":["pg_ctl","start"],"web":"npm start"}` {
		t.Errorf("marshal object form: %s", b)
	}
}

func TestParseUnknownPropertiesKept(t *testing.T) {
	c := parse(t, `{"image": "x", "secrets": {"A": {}}, "dockerFile": "Dockerfile", "fancyNewThing": [1]}`)
	if got := c.UnknownProperties(); !reflect.DeepEqual(got, []string{"fancyNewThing", "secrets"}) {
		t.Fatalf("unknown = %v", got)
	}
	if string(c.Unknown["fancyNewThing"]) != "[1]" {
		t.Fatalf("unknown value = %s", c.Unknown["fancyNewThing"])
	}
	if got := c.Properties(); !reflect.DeepEqual(got, []string{"image", "secrets", "dockerFile", "fancyNewThing"}) {
		t.Fatalf("properties = %v", got)
	}
	if c.Build == nil || c.Build.Dockerfile != "Dockerfile" {
		t.Fatalf("legacy dockerFile not folded into build: %+v", c.Build)
	}
}

// TestParseRealWorld reads the configs in testdata/ into the typed fields.
func TestParseRealWorld(t *testing.T) {
	read := func(name string) *devcontainer.Config {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return parse(t, string(b))
	}
	t.Run("go", func(t *testing.T) {
		c := read("go.jsonc")
		if c.Image != "mcr.microsoft.com/devcontainers/go:1-1.22-bookworm" || c.RemoteUser != "vscode" {
			t.Errorf("image/user: %q %q", c.Image, c.RemoteUser)
		}
		if want := []devcontainer.Port{{Port: 8080}, {Host: "db", Port: 5432}}; !reflect.DeepEqual(c.ForwardPorts, want) {
			t.Errorf("forwardPorts = %+v", c.ForwardPorts)
		}
		if c.PortsAttributes["8080"].Label != "API" || c.Customizations["vscode"] == nil {
			t.Errorf("portsAttributes/customizations: %+v %v", c.PortsAttributes, c.Customizations)
		}
		if _, ok := c.Features["ghcr.io/devcontainers/features/github-cli:1"]; !ok {
			t.Errorf("features = %v", c.Features)
		}
	})
	t.Run("python", func(t *testing.T) {
		c := read("python.jsonc")
		want := &devcontainer.Build{Dockerfile: "Dockerfile", Context: "..", Target: "dev",
			Args:      map[string]string{"VARIANT": "3.12-bookworm", "NODE_VERSION": "none"},
			CacheFrom: devcontainer.StringList{"ghcr.io/acme/app-dev:cache"}}
		if !reflect.DeepEqual(c.Build, want) {
			t.Errorf("build = %+v", c.Build)
		}
		if c.HostRequirements.CPUs != 2 || c.HostRequirements.Memory != "4gb" || c.WaitFor != "postCreateCommand" {
			t.Errorf("hostRequirements/waitFor: %+v %q", c.HostRequirements, c.WaitFor)
		}
		if c.UpdateRemoteUserUID == nil || !*c.UpdateRemoteUserUID || len(c.PostStartCommand.Parallel) != 2 {
			t.Errorf("updateRemoteUserUID/postStartCommand: %v %+v", c.UpdateRemoteUserUID, c.PostStartCommand)
		}
		if m := c.Mounts[0]; m.Type != "volume" || m.Target != "/cache" || m.HostBind() {
			t.Errorf("mount = %+v", m)
		}
	})
	t.Run("node", func(t *testing.T) {
		c := read("node.jsonc")
		if c.ContainerEnv["P"] != "/opt/*/bin" || c.ContainerEnv["Q"] != "/usr/*/lib" || c.ContainerEnv["URL"] != "http://example.test//x" {
			t.Errorf("containerEnv = %v", c.ContainerEnv)
		}
		if c.OverrideCommand == nil || !*c.OverrideCommand || c.Init == nil || !*c.Init || c.ShutdownAction != "stopContainer" {
			t.Errorf("overrideCommand/init/shutdownAction: %v %v %q", c.OverrideCommand, c.Init, c.ShutdownAction)
		}
		if c.OnCreateCommand.Shell != "npm ci" || c.UpdateContentCommand.Shell != "npm run build" || c.ContainerUser != "node" {
			t.Errorf("commands/containerUser: %+v", c)
		}
		if c.OtherPortsAttributes.OnAutoForward != "ignore" || len(c.UnknownProperties()) != 0 {
			t.Errorf("otherPortsAttributes/unknown: %+v %v", c.OtherPortsAttributes, c.UnknownProperties())
		}
	})
	t.Run("features", func(t *testing.T) {
		c := read("features.jsonc")
		if got := c.Features["ghcr.io/devcontainers/features/go:1"]; got["version"] != "1.22" {
			t.Errorf("version shorthand: %v", got)
		}
		if got := c.Features["ghcr.io/devcontainers/features/python:1"]; got["version"] != "3.12" || got["installTools"] != "true" {
			t.Errorf("number and boolean options: %v", got)
		}
		if !c.Mounts[0].HostBind() || c.Mounts[1].HostBind() || c.InitializeCommand == nil {
			t.Errorf("mounts/initializeCommand: %+v %+v", c.Mounts, c.InitializeCommand)
		}
		if !reflect.DeepEqual(c.RunArgs, []string{"--network=host", "--device=/dev/fuse"}) || c.CapAdd[0] != "SYS_PTRACE" || c.SecurityOpt[0] != "seccomp=unconfined" || !*c.Privileged {
			t.Errorf("runArgs/capAdd/securityOpt/privileged: %+v", c)
		}
	})
	t.Run("compose", func(t *testing.T) {
		c := read("compose.jsonc")
		if !reflect.DeepEqual([]string(c.DockerComposeFile), []string{"../docker-compose.yml", "docker-compose.extend.yml"}) || c.Service != "app" || len(c.RunServices) != 2 {
			t.Errorf("compose: %+v", c)
		}
		if !reflect.DeepEqual(c.UnknownProperties(), []string{"secrets"}) {
			t.Errorf("unknown = %v", c.UnknownProperties())
		}
	})
}

func TestParseNullsAndDuplicates(t *testing.T) {
	c := parse(t, `{"image": "a", "features": {"x": null}, "build": {"cacheFrom": null}, "postCreateCommand": null, "image": "b"}`)
	if c.Image != "b" || len(c.Features["x"]) != 0 || c.Build.CacheFrom != nil || c.PostCreateCommand != nil {
		t.Fatalf("nulls: %+v", c)
	}
	if got := c.Properties(); !reflect.DeepEqual(got, []string{"image", "features", "build", "postCreateCommand"}) {
		t.Fatalf("properties = %v", got)
	}
}

func TestMountStringForm(t *testing.T) {
	c := parse(t, `{"mounts": ["type=bind,source=/home/u/.ssh,target=/root/.ssh,readonly", "src=v,dst=/v,consistency=cached"]}`)
	want := []devcontainer.Mount{
		{Type: "bind", Source: "/home/u/.ssh", Target: "/root/.ssh", ReadOnly: true},
		{Source: "v", Target: "/v", Options: map[string]string{"consistency": "cached"}},
	}
	if !reflect.DeepEqual(c.Mounts, want) {
		t.Fatalf("mounts = %+v", c.Mounts)
	}
}

package devcontainer_test

import (
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestExpand(t *testing.T) {
	v := devcontainer.Vars{
		LocalWorkspaceFolder:     "/home/ann/src/shop",
		ContainerWorkspaceFolder: "/workspaces/shop-app",
		LocalEnv:                 env(map[string]string{"HOME": "/home/ann", "EMPTY": ""}),
		DevcontainerID:           "0abc",
	}
	for in, want := range map[string]string{
		"${localWorkspaceFolder}/x":           "/home/ann/src/shop/x",
		"${localWorkspaceFolderBasename}":     "shop",
		"${containerWorkspaceFolder}/src":     "/workspaces/shop-app/src",
		"${containerWorkspaceFolderBasename}": "shop-app",
		"${localEnv:HOME}/.cache":             "/home/ann/.cache",
		"${env:HOME}":                         "/home/ann",
		"${localEnv:MISSING}":                 "",
		"${localEnv:MISSING:fallback}":        "fallback",
		"${localEnv:MISSING:a:b}":             "a:b",
		"${localEnv:EMPTY:fallback}":          "",
		"${containerEnv:PATH}:/x":             "${containerEnv:PATH}:/x",
		"${containerEnv:HOME:/root}":          "${containerEnv:HOME:/root}",
		"vol-${devcontainerId}":               "vol-0abc",
		"${unknownVariable} and ${}":          "${unknownVariable} and ${}",
		"$HOME ${ not closed":                 "$HOME ${ not closed",
		"${localEnv:HOME}${localEnv:HOME}":    "/home/ann/home/ann",
	} {
		if got := v.Expand(in); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSubstitute(t *testing.T) {
	c := parse(t, `{
		// workspaceFolder itself uses local variables
		"workspaceFolder": "/workspaces/${localWorkspaceFolderBasename}-dev",
		"containerEnv": {"SRC": "${containerWorkspaceFolder}/src", "${localEnv:USER}": "keys stay"},
		"remoteEnv": {"PATH": "${containerEnv:PATH}:/opt/bin", "WHO": "${localEnv:USER:nobody}"},
		"postCreateCommand": ["echo", "${localWorkspaceFolderBasename}"],
		"mounts": ["source=cache-${devcontainerId},target=/cache,type=volume"],
		"forwardPorts": [3000],
	}`)
	s, err := c.Substitute(devcontainer.Vars{LocalWorkspaceFolder: "/src/shop", LocalEnv: env(map[string]string{"USER": "ann"}), DevcontainerID: "id1"})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"workspaceFolder":       {s.WorkspaceFolder, "/workspaces/shop-dev"},
		"containerEnv.SRC":      {s.ContainerEnv["SRC"], "/workspaces/shop-dev/src"},
		"containerEnv key":      {s.ContainerEnv["${localEnv:USER}"], "keys stay"},
		"remoteEnv.PATH":        {s.RemoteEnv["PATH"], "${containerEnv:PATH}:/opt/bin"},
		"remoteEnv.WHO":         {s.RemoteEnv["WHO"], "ann"},
		"postCreateCommand[1]":  {s.PostCreateCommand.Args[1], "shop"},
		"mounts[0].source":      {s.Mounts[0].Source, "cache-id1"},
		"original is unchanged": {c.ContainerEnv["SRC"], "${containerWorkspaceFolder}/src"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if got, want := strings.Join(s.Properties(), ","), strings.Join(c.Properties(), ","); got != want {
		t.Errorf("properties after substitution: %s, want file order %s", got, want)
	}
	if s.ForwardPorts[0].Port != 3000 {
		t.Errorf("numbers survive substitution: %+v", s.ForwardPorts)
	}
	d, _ := parse(t, `{}`).Substitute(devcontainer.Vars{LocalWorkspaceFolder: "/src/shop"})
	if d.ContainerWorkspace("/src/shop") != "/workspaces/shop" {
		t.Errorf("default container workspace = %q", d.ContainerWorkspace("/src/shop"))
	}
}

// TestDevcontainerID compares with the spec's JavaScript reference
// implementation (docs/specs/devcontainer-id-variable.md in
// devcontainers/spec), run with node on the same labels.
func TestDevcontainerID(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   string
	}{
		{devcontainer.IDLabels("/home/ann/src/shop", "/home/ann/src/shop/.devcontainer/devcontainer.json"),
			"1cajqs74ecoo7v997ggihj8gs0e1bt74potvp1rvact1henha0pa"},
		{map[string]string{"b": "x<&>\u2028é", "a": `"quoted"\`}, "0dp7hfisbgese64epcn05hcjqi4qntnu0ff1rbcarjlgk6jfv8qd"},
		{map[string]string{}, "0h0jduhlbcr7h88kdb8muvk697kkvd7s47v7fq1h1g30uoealvsa"},
	} {
		if got := devcontainer.DevcontainerID(tc.labels); got != tc.want {
			t.Errorf("DevcontainerID(%v) = %s, want %s", tc.labels, got, tc.want)
		}
	}
}

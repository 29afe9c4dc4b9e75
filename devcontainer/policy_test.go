package devcontainer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
)

func TestPolicyDefaultRefuses(t *testing.T) {
	for _, tc := range []struct{ name, src, property string }{
		{"privileged", `{"privileged": true}`, `"privileged" is refused`},
		{"capAdd", `{"capAdd": ["SYS_ADMIN"]}`, `"capAdd" is refused: extra capabilities (SYS_ADMIN)`},
		{"securityOpt", `{"securityOpt": ["seccomp=unconfined"]}`, `"securityOpt" is refused`},
		{"runArgs", `{"runArgs": ["--network=host"]}`, `"runArgs" is refused`},
		{"bind mount string", `{"mounts": ["source=/,target=/host,type=bind"]}`, `"mounts[0]" is refused: a bind mount of the host's /`},
		{"bind mount object", `{"mounts": [{"type": "volume", "target": "/v"}, {"type": "bind", "source": "/etc", "target": "/e"}]}`, `"mounts[1]" is refused`},
		{"initializeCommand", `{"initializeCommand": ["curl", "x"]}`, `"initializeCommand" is refused: it would run on your machine`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := devcontainer.Policy{}.Check(parse(t, tc.src))
			var pe *devcontainer.PolicyError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.property) {
				t.Fatalf("Check = %v, want a PolicyError containing %q", err, tc.property)
			}
		})
	}
}

func TestPolicyAccepts(t *testing.T) {
	for _, src := range []string{
		`{"image": "x"}`,
		`{"privileged": false, "capAdd": [], "runArgs": []}`,
		`{"mounts": ["source=cache,target=/cache,type=volume", {"type": "tmpfs", "target": "/t"}, "source=v,target=/v"]}`,
	} {
		if err := (devcontainer.Policy{}).Check(parse(t, src)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", src, err)
		}
	}
	all := devcontainer.Policy{AllowPrivileged: true, AllowCapAdd: true, AllowSecurityOpt: true, AllowRunArgs: true, AllowBindMounts: true, AllowInitializeCommand: true}
	c := parse(t, `{"privileged": true, "capAdd": ["X"], "securityOpt": ["x"], "runArgs": ["x"], "mounts": ["type=bind,source=/,target=/h"], "initializeCommand": "x"}`)
	if err := all.Check(c); err != nil {
		t.Errorf("a policy allowing everything: %v", err)
	}
	err := devcontainer.Policy{AllowRunArgs: true}.Check(c)
	var pe *devcontainer.PolicyError
	if !errors.As(err, &pe) || len(pe.Violations) != 5 {
		t.Fatalf("every violation listed, runArgs allowed: %v", err)
	}
}

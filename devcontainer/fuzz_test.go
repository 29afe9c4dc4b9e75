package devcontainer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
)

// FuzzParse feeds parsing, substitution and the policy check arbitrary
// text, seeded with the realistic configs in testdata/: none may panic.
// Substitution may fail (a variable can empty a required value) but only
// with an error.
//
//	go test -fuzz FuzzParse -fuzztime 60s ./devcontainer/
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.jsonc"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"P":"/opt/*/bin","Q":"/usr/*/lib"}`))
	f.Add([]byte(`{"postStartCommand": {"a": ["x"], "b": "y"}, "forwardPorts": ["h:1", 2], "mounts": ["type=bind,src=/,dst=/h"]}`))
	vars := devcontainer.Vars{
		LocalWorkspaceFolder: "/src/p",
		LocalEnv:             func(k string) (string, bool) { return "${localEnv:" + k + "}", k != "" },
		DevcontainerID:       "id",
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := devcontainer.Parse(b)
		if err != nil {
			return
		}
		c.UnknownProperties()
		devcontainer.Policy{}.Check(c)
		if s, err := c.Substitute(vars); err == nil {
			devcontainer.Policy{}.Check(s)
		}
	})
}

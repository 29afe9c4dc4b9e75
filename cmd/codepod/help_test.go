package main_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHelpNamesEnvironment checks that `server --help` and `runner --help`
// name the environment variable of every flag (CONTRACT: flags with env).
func TestHelpNamesEnvironment(t *testing.T) {
	for _, cmd := range []string{"server", "runner"} {
		out, err := exec.Command(binaries(t), cmd, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v\n%s", cmd, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "--") {
				continue
			}
			if !strings.Contains(line, "[$CODEPOD_") && !strings.Contains(line, "[$DATABASE_URL]") {
				t.Errorf("%s --help: flag without its environment variable: %s", cmd, line)
			}
		}
	}
}

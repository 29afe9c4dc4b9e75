package main_test

import (
	"strings"
	"testing"
)

// TestSandboxProcessesCLI runs a background process with exec
// --background, lists it with ps, attaches with stdin, and kills another.
func TestSandboxProcessesCLI(t *testing.T) {
	c := newCluster(t)
	c.startRunner("r1", t.TempDir())
	c.must("sandbox", "create", "procs", "--image", "codepod/tiny:latest", "--memory", "64m", "--wait", "--timeout", "60s")
	defer c.must("sandbox", "delete", "procs")

	pid := strings.TrimSpace(c.must("sandbox", "exec", "--background", "procs", "--", "sh", "-c", `echo hi; read l; echo "got $l"; exit 3`))
	if ps := c.must("sandbox", "ps", "procs"); !strings.Contains(ps, pid) || !strings.Contains(ps, "running") {
		t.Fatalf("ps:\n%s", ps)
	}
	r := c.run(cliOpts{stdin: strings.NewReader("x\n")}, "sandbox", "attach", "procs", pid)
	if string(r.stdout) != "hi\ngot x\n" || r.code != 3 {
		t.Fatalf("attach: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if ps := c.must("sandbox", "ps", "procs"); !strings.Contains(ps, "exited 3") {
		t.Errorf("ps after exit:\n%s", ps)
	}

	sleeper := strings.TrimSpace(c.must("sandbox", "exec", "-d", "procs", "--", "sleep", "1000"))
	c.must("sandbox", "kill", "procs", sleeper)
	if ps := c.must("sandbox", "ps", "procs"); !strings.Contains(ps, "killed KILL") {
		t.Errorf("ps after kill:\n%s", ps)
	}
	if _, errOut, code := c.cli("sandbox", "kill", "procs", "999999"); code == 0 || !strings.Contains(errOut, "no process 999999") {
		t.Errorf("kill of an unknown pid: exit %d, %q", code, errOut)
	}
}

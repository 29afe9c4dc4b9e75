package gateway_test

import (
	"testing"

	"github.com/codepod-dev/codepod/gateway"
)

// After an exec, the connection holds a session channel opened ahead; the
// next exec runs on it (with its own environment and directory), and the
// one after that on the next spare.
func TestExecUsesASpareChannel(t *testing.T) {
	sb := newSandbox(t)
	c := sb.client(t)
	exec(t, c, gateway.ExecRequest{Command: []string{"true"}})
	for i := range 3 {
		if !gateway.WaitSpare(ctx(t), c) {
			t.Fatalf("round %d: no spare session channel after an exec", i)
		}
		res := exec(t, c, gateway.ExecRequest{Command: []string{"sh", "-c", "echo $A; pwd"}, Env: map[string]string{"A": "spare"}, Cwd: "/tmp"})
		if got := string(res.Stdout.Data); got != "spare\n/tmp\n" {
			t.Errorf("round %d: stdout %q, want the env and directory of this exec", i, got)
		}
	}
}

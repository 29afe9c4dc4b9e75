package api

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// idleProbeScript counts the sandbox's processes with the shell's own glob
// (no child process): the agent (PID 1) and this shell are 2.
const idleProbeScript = `set -- /proc/[0-9]*; echo $#`

// idleProbe reports whether processes other than the agent run in sb: the
// control plane asks before it stops a sandbox for being idle. Any failure
// is an error, which keeps the sandbox running.
func (s *Server) idleProbe(ctx context.Context, sb *codepod.Sandbox) (bool, error) {
	var res *gateway.ExecResult
	err := s.pool.Do(ctx, sb.ID, func(c *ssh.Client) error {
		var err error
		res, err = gateway.Exec(ctx, c, gateway.ExecRequest{Command: []string{"sh", "-c", idleProbeScript}, Timeout: 10 * time.Second, MaxOutputBytes: 64})
		return err
	})
	if err != nil {
		return false, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(res.Stdout.Data)))
	if err != nil || res.ExitCode != 0 {
		return false, fmt.Errorf("idle probe of sandbox %s: exit %d, output %q", sb.ID, res.ExitCode, res.Stdout.Data)
	}
	return n > 2, nil
}

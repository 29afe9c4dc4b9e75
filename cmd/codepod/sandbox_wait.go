package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// waitPoll is how often --wait reads the sandbox. The CLI is a client: a
// short poll keeps it simple and works against any server version.
const waitPoll = 200 * time.Millisecond

// errWaitTimeout marks a --wait that ran out of time.
var errWaitTimeout = errors.New("timed out")

// progress shows a sandbox's status and reason while --wait waits: on a
// terminal one line rewritten in place, otherwise a plain line per change.
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(cmd *cobra.Command) *progress {
	return &progress{w: cmd.ErrOrStderr(), tty: isTerminal(cmd.ErrOrStderr())}
}

func (p *progress) show(sb *client.Sandbox) {
	line := sb.Name + ": " + string(sb.Status)
	if sb.Reason != "" {
		line += " (" + sb.Reason + ")"
	}
	if line == p.last {
		return
	}
	p.last = line
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K"+line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// done ends the rewritten line on a terminal.
func (p *progress) done() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

// waitStatus reads sandbox id until its status is want, it reaches a status
// from which want will not come, or timeout passes (errWaitTimeout). It
// returns the sandbox as last read.
func waitStatus(cmd *cobra.Command, c *apiClient, id, want string, timeout time.Duration) (*client.Sandbox, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	p := newProgress(cmd)
	defer p.done()
	var sb *client.Sandbox
	for {
		r, err := c.GetSandboxWithResponse(ctx, id)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return sb, fmt.Errorf("sandbox %s is not %s after %s (%s): %w", id, want, timeout, describeStatus(sb), errWaitTimeout)
		}
		if err := c.check(err, r); err != nil {
			return sb, err
		}
		sb = r.JSON200
		p.show(sb)
		if string(sb.Status) == want {
			return sb, nil
		}
		if !onTheWay(string(sb.Status), want) {
			return sb, fmt.Errorf("sandbox %s did not become %s (%s)", sb.Name, want, describeStatus(sb))
		}
		select {
		case <-ctx.Done():
		case <-time.After(waitPoll):
		}
	}
}

// onTheWay reports whether status may still become want by itself.
func onTheWay(status, want string) bool {
	switch want {
	case "running":
		return status == "pending" || status == "creating" || status == "starting"
	case "stopped":
		return status == "stopping" || status == "running"
	}
	return false
}

func describeStatus(sb *client.Sandbox) string {
	if sb == nil {
		return "status unknown"
	}
	if sb.Reason == "" {
		return "status " + string(sb.Status)
	}
	return "status " + string(sb.Status) + ": " + strings.TrimSpace(sb.Reason)
}

// cleanUpFailedCreate deletes a sandbox that create --wait made and that did
// not come up, so a retry with the same name works; it says what it did.
// It uses a context of its own: the wait's may have ended.
func cleanUpFailedCreate(cmd *cobra.Command, c *apiClient, id, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 30*time.Second)
	defer cancel()
	r, err := c.DeleteSandboxWithResponse(ctx, id)
	if err := c.check(err, r); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "could not delete sandbox %s (%s) after the failed create: %v\n", name, id, err)
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "deleted sandbox %s (%s); pass --keep-on-failure to keep a failed sandbox\n", name, id)
}

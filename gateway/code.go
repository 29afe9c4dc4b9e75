package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent/kernel"
	"golang.org/x/crypto/ssh"
)

// Code sends req to the agent's code-contexts subsystem on a new session
// of c and returns its reply (package kernel, docs/code.md). A failed
// request is a *codepod.Error with the agent's code; ctx ending closes the
// session, which interrupts a running cell.
func Code(ctx context.Context, c *ssh.Client, req kernel.Request) (*kernel.Reply, error) {
	s, err := newSession(c)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	stdin, err := s.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.RequestSubsystem(kernel.Subsystem); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "this sandbox's agent does not serve code contexts (it predates them): recreate the sandbox")
	}
	b, _ := json.Marshal(req)
	// No CloseWrite: the agent takes the end of input as the client leaving.
	if _, err := stdin.Write(append(b, '\n')); err != nil {
		return nil, codeLost(ctx, err)
	}
	line, err := bufio.NewReaderSize(stdout, 64<<10).ReadBytes('\n')
	if err != nil {
		return nil, codeLost(ctx, err)
	}
	var rep kernel.Reply
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("code reply: %w", err)
	}
	if e := rep.Error; e != nil {
		return nil, codepod.Errorf(e.Code, "%s", e.Message)
	}
	return &rep, nil
}

func codeLost(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w (%v)", codepod.Errorf(codepod.EUNAVAILABLE, "the connection to the sandbox agent was lost during a code request: try again"), err)
}

package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// StopSandbox asks the runner to stop a running sandbox: it becomes stopping,
// then stopped when the runner reports. Any other status is ECONFLICT (see
// codepod.Transition for every rule).
func (s *Service) StopSandbox(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	return s.userEvent(ctx, caller, ref, codepod.EventStop)
}

// StartSandbox asks the runner to start a stopped sandbox (or one in error
// that has a runner): it becomes starting, then running.
func (s *Service) StartSandbox(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	return s.userEvent(ctx, caller, ref, codepod.EventStart)
}

// DeleteSandbox deletes a sandbox in any live status. A placed sandbox
// becomes deleting (its other unfinished jobs are cancelled) until its
// runner removes the container; one that was never placed is deleted at
// once. Deleting a deleted sandbox is ENOTFOUND; its name is free again.
func (s *Service) DeleteSandbox(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	return s.userEvent(ctx, caller, ref, codepod.EventDelete)
}

// userEvent applies a user's action to the sandbox ref of caller.
func (s *Service) userEvent(ctx context.Context, caller *codepod.User, ref string, kind codepod.EventKind) (*codepod.Sandbox, error) {
	cur, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, err
	}
	sb, _, err := s.applyOne(ctx, cur.ID, always(codepod.Event{Kind: kind}))
	if err != nil {
		return nil, wrapUnlessDomain(err, "%s sandbox %s", kind, ref)
	}
	return sb, nil
}

// wrapUnlessDomain adds context to internal errors and leaves domain errors,
// whose message is for the user, as they are.
func wrapUnlessDomain(err error, format string, args ...any) error {
	if codepod.ErrorCode(err) != codepod.EINTERNAL {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

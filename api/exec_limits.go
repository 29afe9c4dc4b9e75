package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/sync/semaphore"

	"github.com/codepod-dev/codepod/gateway"
)

// newExecBudget is the semaphore of bytes buffered execs may hold.
func newExecBudget(l Limits) *semaphore.Weighted {
	return semaphore.NewWeighted(max(l.ExecBufferBytes, 2*int64(l.ExecMaxOutputBytes)))
}

// reserveExecOutput checks max_output_bytes against the server's limit and
// reserves room for both streams of one buffered exec, waiting up to
// ExecQueueWait. Call release when the answer is written.
func (s *Server) reserveExecOutput(ctx context.Context, maxOutput int) (release func(), err error) {
	if maxOutput == 0 {
		maxOutput = gateway.DefaultMaxOutput
	}
	if limit := s.limits.ExecMaxOutputBytes; maxOutput > limit {
		return nil, huma.NewError(http.StatusUnprocessableEntity, fmt.Sprintf(
			"max_output_bytes %d is over this server's limit of %d bytes per stream; ask for less, "+
				"or run the command with the streaming exec (GET /api/v1/sandboxes/{id}/exec/stream, `codepod sandbox exec`), which has no output limit",
			maxOutput, limit))
	}
	n := 2 * int64(maxOutput)
	wctx, cancel := context.WithTimeout(ctx, s.limits.ExecQueueWait)
	defer cancel()
	if err := s.execBudget.Acquire(wctx, n); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, tooMany(s.limits.ExecQueueWait, fmt.Sprintf(
			"this server is buffering as much exec output as it may (%d bytes for all execs at once); "+
				"try again shortly, ask for a smaller max_output_bytes, or use the streaming exec", s.limits.ExecBufferBytes))
	}
	return func() { s.execBudget.Release(n) }, nil
}

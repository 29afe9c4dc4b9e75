package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

type registerRunnerInput struct {
	Body wire.RegisterRequest
}

type registerRunnerOutput struct {
	Body *wire.RegisterResponse
}

type pollInput struct {
	Body wire.PollRequest
}

type pollOutput struct {
	Body *wire.PollResponse
}

type progressInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The job's id."`
	Body wire.JobProgress
}

type resultInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The job's id."`
	Body wire.JobResult
}

type stateInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id."`
	Body wire.SandboxState
}

// registerRunnerProtocol registers what runners call. The bodies are the
// types of package wire, so the spec documents the protocol runners speak.
func registerRunnerProtocol(api huma.API, s *Server) {
	op := s.operation(registration, http.MethodPost, "/runners/register", "register-runner", "runner-protocol", "Register a runner")
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Trades a registration token for the runner's own credential (shown once)."),
		func(ctx context.Context, in *registerRunnerInput) (*registerRunnerOutput, error) {
			res, err := s.ctl.RegisterRunner(ctx, registrationToken(ctx), in.Body)
			if err != nil {
				return nil, err
			}
			logger(ctx).Info("runner registered", "runner_id", res.RunnerID, "name", in.Body.Name)
			return &registerRunnerOutput{Body: res}, nil
		})

	op = s.operation(runnerOnly, http.MethodPost, "/runners/poll", "poll-jobs", "runner-protocol", "Poll for jobs (long poll, heartbeat)")
	register(api, s, describe(op, "Carries the runner's heartbeat and, with reconcile, its inventory. "+
		"Held until a job is ready or wait_seconds pass; an empty list is normal: poll again. Delivered jobs are leased."),
		func(ctx context.Context, in *pollInput) (*pollOutput, error) {
			clearWriteDeadline(ctx)
			res, err := s.ctl.Poll(ctx, callerRunner(ctx), in.Body)
			if err != nil {
				return nil, err
			}
			if res.Jobs == nil {
				res.Jobs = []wire.Job{} // [] not null: an empty poll is normal
			}
			res.ServerVersion = s.cfg.Version
			return &pollOutput{Body: res}, nil
		})

	op = s.operation(runnerOnly, http.MethodPost, "/runners/jobs/{id}/progress", "report-job-progress", "runner-protocol",
		"Report a job's progress", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Extends the job's lease and shows the message as the sandbox's reason."),
		func(ctx context.Context, in *progressInput) (*struct{}, error) {
			return &struct{}{}, s.ctl.Progress(ctx, callerRunner(ctx), in.ID, in.Body)
		})

	op = s.operation(runnerOnly, http.MethodPost, "/runners/jobs/{id}/result", "report-job-result", "runner-protocol",
		"Report a job's result", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Ends the job. Its effects are applied once: reporting the same result again is harmless."),
		func(ctx context.Context, in *resultInput) (*struct{}, error) {
			return &struct{}{}, s.ctl.Result(ctx, callerRunner(ctx), in.ID, in.Body)
		})

	op = s.operation(runnerOnly, http.MethodPost, "/runners/sandboxes/{id}/state", "report-sandbox-state", "runner-protocol",
		"Report a sandbox's state now", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Applies one sandbox's state as the runner sees it, between inventories: "+
		"failed (the runner stopped it because a devcontainer hook failed; reason says why) puts it in error at once. "+
		"The body's id must be the path's."),
		func(ctx context.Context, in *stateInput) (*struct{}, error) {
			if in.Body.ID != in.ID {
				return nil, codepod.Errorf(codepod.EINVALID, "the body's id %q is not the path's %q", in.Body.ID, in.ID)
			}
			return &struct{}{}, s.ctl.ReportState(ctx, callerRunner(ctx), in.Body)
		})
}

package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
)

// defaultRunnerTokenTTL is a registration token's lifetime when none is asked.
const defaultRunnerTokenTTL = 24 * time.Hour

// CreateRunnerTokenRequest sets a registration token's lifetime.
type CreateRunnerTokenRequest struct {
	ExpiresIn string `json:"expires_in,omitempty" doc:"Lifetime as a duration (\"1h\", \"7d\"); absent: 24h; \"0\": never expires."`
}

type createRunnerTokenInput struct {
	Body *CreateRunnerTokenRequest `required:"false"`
}

type newRunnerTokenOutput struct {
	Body NewRunnerToken
}

type listRunnerTokensInput struct {
	PageParams
}

type listRunnerTokensOutput struct {
	Body *List[RunnerToken]
}

func registerRunnerTokens(api huma.API, s *Server) {
	op := s.operation(adminOnly, http.MethodPost, "/runner-tokens", "create-runner-token", "runner-tokens", "Create a runner registration token")
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Makes a token that lets runners register (`codepod runner --token`). Shown in full this once."),
		s.createRunnerToken)

	op = s.operation(adminOnly, http.MethodGet, "/runner-tokens", "list-runner-tokens", "runner-tokens", "List runner registration tokens")
	register(api, s, op, func(ctx context.Context, in *listRunnerTokensInput) (*listRunnerTokensOutput, error) {
		toks, next, err := s.st.ListRunnerTokens(ctx, in.page())
		if err != nil {
			return nil, err
		}
		return &listRunnerTokensOutput{Body: newList(toks, next, newRunnerToken)}, nil
	})

	op = s.operation(adminOnly, http.MethodDelete, "/runner-tokens/{id}", "delete-runner-token", "runner-tokens", "Delete a runner registration token", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Runners that already registered keep working; no new runner can use the token."),
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			if err := s.st.DeleteRunnerToken(ctx, in.ID); err != nil {
				return nil, err
			}
			return &struct{}{}, nil
		})
}

func (s *Server) createRunnerToken(ctx context.Context, in *createRunnerTokenInput) (*newRunnerTokenOutput, error) {
	ttl := defaultRunnerTokenTTL
	if in.Body != nil && in.Body.ExpiresIn != "" {
		var err error
		if ttl, err = parseLifetime("expires_in", in.Body.ExpiresIn); err != nil {
			return nil, err
		}
	}
	sec := secret.New(secret.RunnerToken, secret.NewID("rt"))
	t := &codepod.RunnerToken{ID: sec.ID, Prefix: sec.Prefix, Hash: sec.Hash, CreatedBy: caller(ctx).ID, CreatedAt: s.now()}
	if ttl > 0 {
		exp := s.now().Add(ttl)
		t.ExpiresAt = &exp
	}
	if err := s.st.CreateRunnerToken(ctx, t); err != nil {
		return nil, err
	}
	logger(ctx).Info("runner token created", "token_id", t.ID)
	return &newRunnerTokenOutput{Body: NewRunnerToken{RunnerToken: newRunnerToken(t), Token: sec.Full}}, nil
}

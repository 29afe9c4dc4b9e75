package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type setNetworkPolicyInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body NetworkPolicy
}

func registerNetworkPolicy(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPut, "/sandboxes/{id}/network-policy", "set-sandbox-network-policy", "sandboxes",
		"Change a sandbox's network policy", http.StatusNotFound, http.StatusConflict)
	register(api, s, describe(op, "Replaces the policy of a sandbox created with one. A running sandbox's runner applies it "+
		"without a restart (shortly after this answers); a stopped one takes it when it starts."), s.setNetworkPolicy)
}

func (s *Server) setNetworkPolicy(ctx context.Context, in *setNetworkPolicyInput) (*sandboxOutput, error) {
	sb, err := s.ctl.SetNetworkPolicy(ctx, caller(ctx), in.ID, *in.Body.domain())
	if err != nil {
		return nil, err
	}
	return &sandboxOutput{Body: newSandbox(sb)}, nil
}

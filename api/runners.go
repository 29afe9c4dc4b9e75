package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// Runner is a machine that runs sandboxes, as admins see it.
type Runner struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Status   string            `json:"status" enum:"online,offline" doc:"online while it polls; offline when it has not for a while."`
	Labels   map[string]string `json:"labels"`
	Capacity wire.Capacity     `json:"capacity"`
	Runtimes []string          `json:"runtimes" doc:"Sandbox runtimes its engine has: runc, gvisor."`
	// Workspaces it is dedicated to (docs/workspaces.md); absent: all.
	Workspaces []string        `json:"workspaces,omitempty" doc:"The workspaces (ids) whose sandboxes it may host; absent: every workspace."`
	Usage      RunnerUsage     `json:"usage"`
	WarmPools  []wire.WarmPool `json:"warm_pools,omitempty" doc:"Warm pools the runner keeps (its --warm-pool flags) and how many sandboxes each has ready."`
	Version    string          `json:"version" doc:"The version the runner reported last (at registration or its latest poll)."`
	// VersionSkew: see newRunner.
	VersionSkew bool      `json:"version_skew" doc:"The runner's version differs from the server's: update it (codepod runner --auto-update, see docs/upgrades.md)."`
	LastSeenAt  time.Time `json:"last_seen_at"`
	CreatedAt   time.Time `json:"created_at"`
}

// RunnerUsage is what the sandboxes placed on a runner take.
type RunnerUsage struct {
	Sandboxes   int   `json:"sandboxes" doc:"Sandboxes placed on the runner and not deleted."`
	MemoryBytes int64 `json:"memory_bytes" doc:"Sum of their memory limits."`
}

func newRunner(r *codepod.Runner, u codepod.Usage, pools []codepod.WarmPool, serverVersion string) Runner {
	var wp []wire.WarmPool
	for _, p := range pools {
		wp = append(wp, wire.WarmPool{Image: p.Image, CPU: p.CPU, MemoryBytes: p.MemoryBytes, Network: p.Network,
			Runtime: p.Runtime, Size: p.Size, Ready: p.Ready})
	}
	return Runner{WarmPools: wp, Workspaces: r.Workspaces, ID: r.ID, Name: r.Name, Status: string(r.Status), Labels: nonNil(r.Labels),
		Capacity: wire.Capacity{Sandboxes: r.Capacity.Sandboxes, MemoryBytes: r.Capacity.MemoryBytes},
		Usage:    RunnerUsage{Sandboxes: u.Sandboxes, MemoryBytes: u.MemoryBytes},
		Runtimes: r.Runtimes, Version: r.Version, LastSeenAt: r.LastSeenAt, CreatedAt: r.CreatedAt,
		VersionSkew: r.Version != serverVersion}
}

type listRunnersInput struct {
	PageParams
}

type listRunnersOutput struct {
	Body *List[Runner]
}

type runnerOutput struct {
	Body Runner
}

func registerRunners(api huma.API, s *Server) {
	op := s.operation(adminOnly, http.MethodGet, "/runners", "list-runners", "runners", "List runners")
	register(api, s, op, s.listRunners)

	op = s.operation(adminOnly, http.MethodGet, "/runners/{id}", "get-runner", "runners", "Get a runner", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *idPath) (*runnerOutput, error) {
		r, err := s.st.Runner(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		usage, err := s.st.RunnerUsage(ctx)
		if err != nil {
			return nil, err
		}
		pools, err := s.st.WarmPools(ctx)
		if err != nil {
			return nil, err
		}
		return &runnerOutput{Body: newRunner(r, usage[r.ID], pools[r.ID], s.cfg.Version)}, nil
	})

	op = s.operation(adminOnly, http.MethodDelete, "/runners/{id}", "delete-runner", "runners", "Delete a runner", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Forgets the runner: its credential stops working at once, and the sandboxes it hosted become lost."),
		// The rules (pending sandboxes go back to placement, deleting ones
		// end deleted) are control.Service.DeleteRunner's; the description
		// stays as generated clients know it.
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			if err := s.ctl.DeleteRunner(ctx, in.ID); err != nil {
				return nil, err
			}
			logger(ctx).Info("runner deleted", "runner_id", in.ID)
			return &struct{}{}, nil
		})
}

func (s *Server) listRunners(ctx context.Context, in *listRunnersInput) (*listRunnersOutput, error) {
	runners, next, err := s.st.ListRunners(ctx, in.page())
	if err != nil {
		return nil, err
	}
	usage, err := s.st.RunnerUsage(ctx)
	if err != nil {
		return nil, err
	}
	pools, err := s.st.WarmPools(ctx)
	if err != nil {
		return nil, err
	}
	return &listRunnersOutput{Body: newList(runners, next, func(r *codepod.Runner) Runner {
		return newRunner(r, usage[r.ID], pools[r.ID], s.cfg.Version)
	})}, nil
}

// nonNil returns m, or an empty map for nil, so JSON shows {} not null.
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

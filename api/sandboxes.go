package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
)

type createSandboxInput struct {
	Wait string `query:"wait" maxLength:"20" doc:"Answer only once the sandbox runs or failed, waiting up to this long: a duration such as 60s or 2m, or a number of seconds. Longer waits are cut to 5m. Empty or 0: answer at once."`
	Body CreateSandboxRequest
}

type sandboxOutput struct {
	Body Sandbox
}

// createSandboxOutput is a created sandbox and, when the request waited,
// how the wait ended.
type createSandboxOutput struct {
	WaitResult string `header:"CodePod-Wait" doc:"Only when the request waited: running (it runs), failed (it will not run: see status and reason) or timeout (it is still on its way; poll GET /sandboxes/{id})."`
	Body       Sandbox
}

type sandboxRef struct {
	ID string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
}

type listSandboxesInput struct {
	PageParams
	Status []string `query:"status,explode" doc:"Only sandboxes in these statuses; repeat it or separate with commas (status=running,stopped)."`
	Label  []string `query:"label,explode" doc:"Only sandboxes carrying this label, as key=value; repeat it for several (all must match)."`
	All    bool     `query:"all" doc:"Admins only: every user's sandboxes, not just the caller's."`
}

type listSandboxesOutput struct {
	Body *List[Sandbox]
}

func registerSandboxes(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/sandboxes", "create-sandbox", "sandboxes", "Create a sandbox", http.StatusConflict)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, createDescription), s.createSandbox)

	op = s.operation(userOnly, http.MethodGet, "/sandboxes", "list-sandboxes", "sandboxes", "List sandboxes")
	register(api, s, describe(op, "The caller's sandboxes, newest last, without deleted ones."), s.listSandboxes)

	op = s.operation(userOnly, http.MethodGet, "/sandboxes/{id}", "get-sandbox", "sandboxes", "Get a sandbox", http.StatusNotFound)
	register(api, s, op, s.getSandbox)

	op = s.operation(userOnly, http.MethodDelete, "/sandboxes/{id}", "delete-sandbox", "sandboxes", "Delete a sandbox", http.StatusNotFound, http.StatusConflict)
	register(api, s, describe(op, "Answers with the sandbox, now deleting (its runner removes it) or deleted (it never ran)."),
		s.sandboxAction(s.forgetting(s.ctl.DeleteSandbox)))

	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/start", "start-sandbox", "sandboxes", "Start a stopped sandbox", http.StatusNotFound, http.StatusConflict)
	register(api, s, op, s.sandboxAction(s.ctl.StartSandbox))

	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/stop", "stop-sandbox", "sandboxes", "Stop a running sandbox", http.StatusNotFound, http.StatusConflict)
	register(api, s, op, s.sandboxAction(s.forgetting(s.ctl.StopSandbox)))

	registerNetworkPolicy(api, s)
	registerLifetime(api, s)
	registerPorts(api, s)
	registerNetLog(api, s)
	registerAgentUpgrade(api, s)
}

type sandboxFunc func(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error)

// forgetting drops the server's pooled SSH connection to a sandbox that f
// stops or deletes.
func (s *Server) forgetting(f sandboxFunc) sandboxFunc {
	return func(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
		sb, err := f(ctx, caller, ref)
		if err == nil {
			s.pool.Forget(sb.ID)
		}
		return sb, err
	}
}

// sandboxAction adapts a control call on one sandbox to an operation.
func (s *Server) sandboxAction(f sandboxFunc) func(context.Context, *sandboxRef) (*sandboxOutput, error) {
	return func(ctx context.Context, in *sandboxRef) (*sandboxOutput, error) {
		sb, err := f(ctx, caller(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &sandboxOutput{Body: newSandbox(sb)}, nil
	}
}

// getSandbox is a sandbox with its open ports.
func (s *Server) getSandbox(ctx context.Context, in *sandboxRef) (*sandboxOutput, error) {
	sb, ports, err := s.ctl.Ports(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &sandboxOutput{Body: newSandbox(sb).withSkew(s.cfg.Version)}
	for i := range ports {
		out.Body.Ports = append(out.Body.Ports, newPort(&ports[i]))
	}
	return out, nil
}

func (s *Server) createSandbox(ctx context.Context, in *createSandboxInput) (*createSandboxOutput, error) {
	wait, err := parseWait(in.Wait)
	if err != nil {
		return nil, err
	}
	spec, err := in.Body.spec()
	if err != nil {
		return nil, err
	}
	if err := s.checkBlobs(caller(ctx).ID, &spec); err != nil {
		return nil, err
	}
	sb, err := s.ctl.CreateSandbox(ctx, caller(ctx), strings.TrimSpace(in.Body.Name), spec)
	if err != nil {
		return nil, err
	}
	if wait == 0 {
		return &createSandboxOutput{Body: newSandbox(sb)}, nil
	}
	clearWriteDeadline(ctx)
	created := sb
	sb, settled, err := s.ctl.WaitSandbox(ctx, caller(ctx), sb.ID, wait, control.Settled)
	if err != nil && ctx.Err() != nil {
		// The client went away: nobody reads the answer, and the sandbox
		// was created; do not log a failure.
		return &createSandboxOutput{Body: newSandbox(created), WaitResult: "timeout"}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &createSandboxOutput{Body: newSandbox(sb), WaitResult: "timeout"}
	switch {
	case sb.Status == codepod.SandboxRunning:
		out.WaitResult = "running"
	case settled:
		out.WaitResult = "failed"
	}
	return out, nil
}

func (s *Server) listSandboxes(ctx context.Context, in *listSandboxesInput) (*listSandboxesOutput, error) {
	u := caller(ctx)
	f, err := sandboxFilter(in)
	if err != nil {
		return nil, err
	}
	switch {
	case in.All && !u.Admin:
		return nil, codepod.Errorf(codepod.EFORBIDDEN, "all=true requires an admin; leave it out to list your own sandboxes")
	case !in.All:
		f.WorkspaceID = u.WorkspaceOf()
	}
	list, next, err := s.ctl.ListSandboxes(ctx, u, f)
	if err != nil {
		return nil, err
	}
	return &listSandboxesOutput{Body: newList(list, next, func(sb *codepod.Sandbox) Sandbox { return newSandbox(sb).withSkew(s.cfg.Version) })}, nil
}

// sandboxFilter parses the list's status and label parameters.
func sandboxFilter(in *listSandboxesInput) (codepod.SandboxFilter, error) {
	f := codepod.SandboxFilter{Page: in.page()}
	for _, v := range in.Status {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if st == "" {
				continue
			}
			if !slices.Contains(codepod.SandboxStatuses, codepod.SandboxStatus(st)) {
				return f, codepod.Errorf(codepod.EINVALID, "status %q is not a sandbox status (one of %s)", st, statusList())
			}
			f.Status = append(f.Status, codepod.SandboxStatus(st))
			if st == string(codepod.SandboxDeleted) {
				f.IncludeDeleted = true
			}
		}
	}
	for _, l := range in.Label {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return f, codepod.Errorf(codepod.EINVALID, "label %q must be key=value", l)
		}
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		f.Labels[k] = v
	}
	return f, nil
}

func statusList() string {
	names := make([]string, len(codepod.SandboxStatuses))
	for i, st := range codepod.SandboxStatuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

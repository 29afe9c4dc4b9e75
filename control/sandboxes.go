package control

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/codepod-dev/codepod"
)

// CreateSandbox validates name and spec, stores a pending sandbox and, in the
// same transaction, places it on a runner and enqueues its create job. An
// empty name gets a generated one ("sb-x7k2q9"). When no runner fits, the
// sandbox waits in pending with a Reason and is placed later.
func (s *Service) CreateSandbox(ctx context.Context, caller *codepod.User, name string, spec codepod.SandboxSpec) (*codepod.Sandbox, error) {
	if caller == nil {
		return nil, codepod.Errorf(codepod.EUNAUTHORIZED, "a user is required to create a sandbox")
	}
	generated := name == ""
	if !generated {
		if err := codepod.ValidateName(name); err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Limits.Normalize(&spec); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if generated {
			name = randomName()
		}
		sb, err := s.createSandbox(ctx, caller, name, spec)
		if generated && codepod.ErrorCode(err) == codepod.ECONFLICT && attempt < 5 {
			continue
		}
		return sb, err
	}
}

func (s *Service) createSandbox(ctx context.Context, caller *codepod.User, name string, spec codepod.SandboxSpec) (*codepod.Sandbox, error) {
	now := s.now()
	sb := &codepod.Sandbox{
		Name: name, OwnerID: caller.ID, WorkspaceID: caller.WorkspaceOf(), Spec: spec, Status: codepod.SandboxPending,
		SSHSecret: make([]byte, 32), CreatedAt: now, UpdatedAt: now,
	}
	rand.Read(sb.SSHSecret)
	if spec.TTL > 0 {
		exp := now.Add(spec.TTL)
		sb.ExpiresAt = &exp
	}
	// One create of this process at a time (createGate); placement reserves
	// room in the view when it picks a runner (so a placement pass running
	// beside it, and other replicas' creates, spread over the runners) and
	// claims it under the runner's row lock; res is given back if the
	// transaction fails.
	var res reservation
	s.createGate.Lock()
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		s.release(&res) // an attempt run again gives back what the last one took
		if err := s.checkQuota(ctx, tx, caller, spec); err != nil {
			return err
		}
		pass := &placePass{}
		spec := spec
		spec.PlaceWorkspace = sb.WorkspaceID
		r, err := s.claimWarm(ctx, tx, pass, &res, spec)
		if err != nil {
			return err
		}
		var reason string
		if r == nil {
			if r, reason, err = s.claimRunner(ctx, tx, pass, &res, spec); err != nil {
				return err
			}
		}
		sb.RunnerID, sb.Reason, sb.ID = "", reason, ""
		if r != nil {
			sb.RunnerID = r.ID
		}
		if err := tx.CreateSandbox(ctx, sb); err != nil {
			return err
		}
		if err := s.sandboxEvent(ctx, tx, out, sb, codepod.EventSandboxCreated); err != nil {
			return err
		}
		out.sandboxes = append(out.sandboxes, sb.ID)
		if r == nil {
			return nil
		}
		j, err := s.sandboxJob(ctx, tx, codepod.JobCreate, sb)
		if err != nil {
			return err
		}
		if err := tx.EnqueueJob(ctx, j); err != nil {
			return fmt.Errorf("enqueue create job: %w", err)
		}
		out.jobs = append(out.jobs, j)
		return nil
	})
	s.createGate.Unlock()
	if err != nil {
		s.release(&res)
	} else {
		s.committed(&res)
	}
	if codepod.ErrorCode(err) == codepod.ECONFLICT {
		return nil, codepod.Errorf(codepod.ECONFLICT, "a sandbox named %q already exists; pick another name or delete it first", name)
	}
	if err != nil {
		return nil, wrapUnlessDomain(err, "create sandbox %s", name)
	}
	s.log.Info("sandbox created", keySandbox, sb.ID, "name", sb.Name, keyRunner, sb.RunnerID, "reason", sb.Reason)
	return sb, nil
}

// randomName returns "sb-" and six random lowercase letters or digits.
func randomName() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "sb-" + string(b)
}

// GetSandbox returns the sandbox ref (an id, or a name in the caller's
// workspace). A sandbox of another workspace, or a deleted one, is
// ENOTFOUND (admins see every workspace's).
func (s *Service) GetSandbox(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	return resolve(ctx, s.st, caller, ref)
}

// ListSandboxes lists the sandboxes of the caller's workspace (an admin's
// filter may name any owner or workspace, or none for all). Deleted ones are left out unless f asks for them.
func (s *Service) ListSandboxes(ctx context.Context, caller *codepod.User, f codepod.SandboxFilter) ([]codepod.Sandbox, string, error) {
	if caller == nil {
		return nil, "", codepod.Errorf(codepod.EUNAUTHORIZED, "a user is required to list sandboxes")
	}
	if !caller.Admin {
		f.WorkspaceID = caller.WorkspaceOf()
	}
	list, next, err := s.st.ListSandboxes(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list sandboxes: %w", err)
	}
	return list, next, nil
}

// resolve finds ref for caller: ids contain '_', names never do.
func resolve(ctx context.Context, st codepod.Store, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	if caller == nil {
		return nil, codepod.Errorf(codepod.EUNAUTHORIZED, "a user is required")
	}
	var sb *codepod.Sandbox
	var err error
	if strings.Contains(ref, "_") {
		sb, err = st.Sandbox(ctx, ref)
	} else {
		sb, err = st.SandboxByName(ctx, caller.WorkspaceOf(), ref)
	}
	switch {
	case codepod.ErrorCode(err) == codepod.ENOTFOUND:
		return nil, notFound(ref)
	case err != nil:
		return nil, fmt.Errorf("get sandbox %s: %w", ref, err)
	case sb.Status == codepod.SandboxDeleted || (!caller.Admin && sb.WorkspaceID != caller.WorkspaceOf()):
		return nil, notFound(ref)
	}
	return sb, nil
}

func notFound(ref string) error {
	return codepod.Errorf(codepod.ENOTFOUND, "sandbox %q not found", ref)
}

package control

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
	"github.com/codepod-dev/codepod/wire"
)

var (
	runnerNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)
	labelKeyRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
)

// RegisterRunner checks a registration token ("cpt_<id>_<secret>") and
// creates a runner with its own credential ("cpr_<runner id>_<secret>"),
// returned this once; only its hash is stored. A bad, unknown or expired
// token is EUNAUTHORIZED.
func (s *Service) RegisterRunner(ctx context.Context, registrationToken string, req wire.RegisterRequest) (*wire.RegisterResponse, error) {
	if err := s.checkRegistrationToken(ctx, registrationToken); err != nil {
		return nil, err
	}
	if err := validateRegistration(req); err != nil {
		return nil, err
	}
	now := s.now()
	id := secret.NewID("run")
	cred := secret.New(secret.RunnerCred, id)
	r := &codepod.Runner{
		ID: id, Name: req.Name, Labels: req.Labels, Capacity: codepod.Capacity(req.Capacity), Runtimes: req.Runtimes,
		Version: req.Version, SecretHash: cred.Hash, Status: codepod.RunnerOnline,
		LastSeenAt: now, CreatedAt: now,
	}
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		if err := tx.CreateRunner(ctx, r); err != nil {
			return err
		}
		return s.runnerEvent(ctx, tx, out, r.ID, codepod.EventRunnerOnline)
	})
	if err != nil {
		return nil, wrapUnlessDomain(err, "create runner %s", req.Name)
	}
	s.log.Info("runner registered", keyRunner, r.ID, "name", r.Name, "labels", r.Labels)
	s.invalidatePlacement()
	if err := s.placePending(ctx); err != nil {
		s.log.Error("place pending sandboxes", keyRunner, r.ID, keyErr, err)
	}
	return &wire.RegisterResponse{RunnerID: r.ID, Credential: cred.Full}, nil
}

func (s *Service) checkRegistrationToken(ctx context.Context, token string) error {
	bad := codepod.Errorf(codepod.EUNAUTHORIZED, "invalid runner registration token")
	id, ok := secret.Parse(secret.RunnerToken, token)
	if !ok {
		return bad
	}
	t, err := s.st.RunnerToken(ctx, id)
	switch {
	case codepod.ErrorCode(err) == codepod.ENOTFOUND:
		return bad
	case err != nil:
		return fmt.Errorf("get runner token: %w", err)
	case !secret.Equal(t.Hash, token):
		return bad
	case t.ExpiresAt != nil && !s.now().Before(*t.ExpiresAt):
		return codepod.Errorf(codepod.EUNAUTHORIZED, "runner registration token %s expired at %s; ask an admin for a new one", t.Prefix, t.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"))
	}
	return nil
}

func validateRegistration(req wire.RegisterRequest) error {
	if !runnerNameRE.MatchString(req.Name) {
		return codepod.Errorf(codepod.EINVALID, "runner name %q must be 1-63 letters, digits, '.', '_' or '-'", req.Name)
	}
	if len(req.Labels) > 64 {
		return codepod.Errorf(codepod.EINVALID, "a runner has at most 64 labels")
	}
	for k, v := range req.Labels {
		if !labelKeyRE.MatchString(k) || len(v) > 253 {
			return codepod.Errorf(codepod.EINVALID, "runner label %q: keys are 1-63 letters, digits, '.', '_', '-' or '/', values at most 253 characters", k)
		}
	}
	if req.Capacity.Sandboxes < 0 || req.Capacity.MemoryBytes < 0 {
		return codepod.Errorf(codepod.EINVALID, "runner capacity must not be negative")
	}
	return nil
}

// AuthenticateRunner returns the runner whose credential ("cpr_…") this is,
// or EUNAUTHORIZED "invalid runner credential".
func (s *Service) AuthenticateRunner(ctx context.Context, credential string) (*codepod.Runner, error) {
	bad := codepod.Errorf(codepod.EUNAUTHORIZED, "invalid runner credential")
	id, ok := secret.Parse(secret.RunnerCred, credential)
	if !ok {
		return nil, bad
	}
	r, err := s.st.Runner(ctx, id)
	switch {
	case codepod.ErrorCode(err) == codepod.ENOTFOUND:
		return nil, bad
	case err != nil:
		return nil, fmt.Errorf("get runner: %w", err)
	case !secret.Equal(r.SecretHash, credential):
		return nil, bad
	}
	return r, nil
}

// heartbeat records that r polled: online, seen now, and its capacity (a
// zero capacity in the poll keeps the one it has). It writes only those
// columns (HeartbeatRunner), so it cannot undo a concurrent change of
// anything else, and returns the runner as it is now; r is not changed.
//
// A poll that changes nothing (the runner is online, was seen less than
// RunnerTimeout/3 ago, offers the same capacity and runtimes, and does not
// reconcile) writes nothing: at a thousand runners those writes were most
// of what an idle server did. Offline detection allows for it: a runner is
// offline only after a whole RunnerTimeout, and a poll held here is
// touched once its last_seen_at is RunnerTimeout/3 old (touchPolling), so
// last_seen_at stays within RunnerTimeout/3 of the runner's last poll.
func (s *Service) heartbeat(ctx context.Context, r *codepod.Runner, c wire.Capacity, runtimes []string, force bool) (*codepod.Runner, error) {
	var capacity *codepod.Capacity
	if c != (wire.Capacity{}) {
		capacity = &codepod.Capacity{Sandboxes: c.Sandboxes, MemoryBytes: c.MemoryBytes}
	}
	if !force && r.Status == codepod.RunnerOnline && s.now().Sub(r.LastSeenAt) < s.cfg.RunnerTimeout/3 &&
		(capacity == nil || *capacity == r.Capacity) && (len(runtimes) == 0 || slices.Equal(runtimes, r.Runtimes)) {
		return r, nil
	}
	if r.Status != codepod.RunnerOnline {
		// Back online: the conditional write that turns it online emits
		// the one runner.online event, in its transaction.
		err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
			changed, err := tx.MarkRunnerOnline(ctx, r.ID, s.now())
			if err != nil || !changed {
				return err
			}
			return s.runnerEvent(ctx, tx, out, r.ID, codepod.EventRunnerOnline)
		})
		if err != nil {
			return nil, wrapUnlessDomain(err, "heartbeat of runner %s", r.ID)
		}
	}
	hb, err := s.st.HeartbeatRunner(ctx, r.ID, s.now(), capacity, runtimes)
	if err != nil {
		return nil, wrapUnlessDomain(err, "heartbeat of runner %s", r.ID)
	}
	if r.Status != hb.Status || r.Capacity != hb.Capacity || !slices.Equal(r.Runtimes, hb.Runtimes) {
		s.invalidatePlacement()
	}
	if r.Status != codepod.RunnerOnline {
		s.log.Info("runner back online", keyRunner, r.ID, "name", r.Name, "offline_since", r.LastSeenAt)
	}
	return hb, nil
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/codepod-dev/codepod/wire"
)

// Runner registers with a server, polls it for jobs and runs them on its
// Backend. Make one with New and call Run.
type Runner struct {
	cfg Config
	log *slog.Logger
	api *apiClient

	mu sync.Mutex
	// policyMu orders Firewall changes with the policy records beside them.
	policyMu sync.Mutex
	state    *State
	capa     *wire.Capacity // resolved on first use
	rts      []string       // runtimes the engine had when last asked

	nextUpdate time.Time // earliest next self-update attempt (mu)

	bg sync.WaitGroup // lease keepers, the pool filler
	// follows: devcontainer lifecycles followed after their job (until
	// the jobs' context ends).
	follows sync.WaitGroup
	pools   *pools // nil without warm pools

	builds singleflight.Group // image builds by tag (build.go)
}

// New checks cfg, fills its defaults and loads the identity kept in the
// state directory, if any. It does not touch the network.
func New(cfg Config) (*Runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := LoadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if st == nil && cfg.Token == "" {
		return nil, fmt.Errorf("runner: %s holds no runner identity yet; pass a registration token (--token) to register", cfg.StateDir)
	}
	if st != nil && st.Server != "" && st.Server != cfg.Server {
		cfg.Logger.Warn("runner state was registered with another server URL; using it with the new one",
			"state_server", st.Server, "server", cfg.Server)
	}
	r := &Runner{cfg: cfg, log: cfg.Logger, api: &apiClient{base: cfg.Server, hc: cfg.HTTPClient}, state: st}
	r.pools = newPools(r)
	return r, nil
}

// ID is the runner's id, or "" before it has registered.
func (r *Runner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		return ""
	}
	return r.state.RunnerID
}

func (r *Runner) credential() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Credential
}

// Run registers (the first time), then polls for jobs and runs them until
// ctx ends. On ctx's end it stops polling, lets running jobs finish and
// report for up to ShutdownGrace, abandons the rest (their leases expire and
// the server delivers them again) and returns nil. It returns an error when
// the server rejects the runner's token or credential.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.ensureRegistered(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	r.log.Info("runner started", "runner_id", r.ID(), "server", r.cfg.Server, "concurrency", r.cfg.Concurrency)
	defer r.follows.Wait() // after cancelJobs
	jobsCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	r.restorePolicies(ctx)
	r.resumeFollows(jobsCtx)
	d := newDispatcher(r.cfg.Concurrency, func(j *queuedJob) { r.execute(jobsCtx, j) })
	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	if r.pools != nil {
		r.bg.Go(func() { r.pools.run(loopCtx) })
	}
	r.bg.Go(func() { r.watchDisk(loopCtx) })
	err := r.pollLoop(loopCtx, jobsCtx, d)
	stopLoop()
	if errors.Is(err, ErrRestart) {
		// Finish what is held (the server keeps the rest queued), then
		// stop; the containers run on without the runner.
		r.log.Info("runner updated: finishing held jobs before restarting")
		r.drain(ctx, d)
		if ctx.Err() != nil {
			err = nil // asked to stop meanwhile: stop; the next start runs the new binary
		}
	}
	r.shutdown(d, cancelJobs)
	return err
}

// shutdown drops queued jobs, waits ShutdownGrace for running ones, then
// cancels what is left and waits for it to return.
func (r *Runner) shutdown(d *dispatcher, cancelJobs context.CancelFunc) {
	running := d.close()
	if running > 0 {
		r.log.Info("runner stopping: waiting for running jobs", "jobs", running, "grace", r.cfg.ShutdownGrace)
	}
	if !d.wait(r.cfg.ShutdownGrace) {
		r.log.Warn("runner stopping: abandoning jobs that did not finish in time; the server will deliver them again")
		cancelJobs()
		d.wait(0)
	}
	r.bg.Wait()
	// Tunnels outlive their jobs; they end with the jobs' context.
	if w, ok := r.cfg.Tunnels.(interface{ Wait() }); ok {
		cancelJobs()
		w.Wait()
	}
	r.log.Info("runner stopped")
}

// ensureRegistered registers with the token unless the state directory
// already holds an identity. Network errors are retried with backoff.
func (r *Runner) ensureRegistered(ctx context.Context) error {
	if r.ID() != "" {
		return nil
	}
	if err := ensurePrivateDir(r.cfg.StateDir); err != nil {
		return err
	}
	req := wire.RegisterRequest{Name: r.cfg.Name, Labels: r.cfg.Labels, Capacity: r.capacity(ctx), Version: r.cfg.Version,
		Runtimes: r.runtimes(ctx, true)}
	bo := newBackoff(r.cfg.MaxBackoff)
	for {
		resp, err := r.api.register(ctx, r.cfg.Token, req)
		if err == nil {
			return r.saveIdentity(resp)
		}
		if !retryable(err) || ctx.Err() != nil {
			return fmt.Errorf("register runner with %s: %w", r.cfg.Server, err)
		}
		wait := bo.next()
		r.log.Warn("cannot reach the server to register; retrying", "err", err, "retry_in", wait.Round(time.Millisecond))
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

func (r *Runner) saveIdentity(resp *wire.RegisterResponse) error {
	st := &State{Server: r.cfg.Server, RunnerID: resp.RunnerID, Credential: resp.Credential,
		Name: r.cfg.Name, RegisteredAt: time.Now().UTC()}
	if err := SaveState(r.cfg.StateDir, st); err != nil {
		return fmt.Errorf("registered as %s but could not keep the credential: %w", resp.RunnerID, err)
	}
	r.mu.Lock()
	r.state = st
	r.mu.Unlock()
	r.log.Info("runner registered", "runner_id", st.RunnerID, "state", r.cfg.StateDir)
	return nil
}

// capacity is Config.Capacity with defaults resolved; the memory default
// needs the backend, and is retried on the next call when it fails.
func (r *Runner) capacity(ctx context.Context) wire.Capacity {
	r.mu.Lock()
	known := r.capa
	r.mu.Unlock()
	if known != nil {
		return *known
	}
	c := r.cfg.Capacity
	if c.Sandboxes == 0 {
		c.Sandboxes = DefaultCapacitySandboxes
	}
	resolved := true
	if c.MemoryBytes == 0 {
		mem, err := r.cfg.Backend.MemoryBytes(ctx)
		if err != nil {
			r.log.Warn("cannot read the host's memory for the default capacity", "err", err)
			resolved = false
		}
		c.MemoryBytes = mem * DefaultMemoryPercent / 100
	}
	c.Sandboxes, c.MemoryBytes = max(c.Sandboxes, 0), max(c.MemoryBytes, 0)
	if resolved {
		r.mu.Lock()
		r.capa = &c
		r.mu.Unlock()
	}
	return c
}

// runtimes is the list of sandbox runtimes the engine has, asked again
// when refresh is set (every reconcile) or when it is not known yet; a
// failure keeps the last known list.
func (r *Runner) runtimes(ctx context.Context, refresh bool) []string {
	r.mu.Lock()
	known := r.rts
	r.mu.Unlock()
	if known != nil && !refresh {
		return known
	}
	rts, err := r.cfg.Backend.Runtimes(ctx)
	if err != nil {
		r.log.Warn("cannot read the engine's runtimes", "err", err)
		return known
	}
	if rts == nil {
		rts = []string{}
	}
	r.mu.Lock()
	r.rts = rts
	r.mu.Unlock()
	return rts
}

var errCredentialRejected = errors.New("the server rejected this runner's credential (was the runner deleted?); remove the state file and register again with a new token")

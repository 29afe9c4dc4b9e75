package control

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/quartz"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/codepod-dev/codepod"
)

// Config tunes a Service. Zero fields take the defaults named below.
type Config struct {
	Limits        codepod.Limits // defaults and maxima for sandbox specs (default codepod.DefaultLimits)
	Lease         time.Duration  // job lease (default 60s)
	PollWait      time.Duration  // default hold of a poll (25s)
	RunnerTimeout time.Duration  // no poll for this long → offline (default 60s)
	TickInterval  time.Duration  // reaper/offline/placement loop (default 2s)
	Logger        *slog.Logger
	Registerer    prometheus.Registerer // metrics; nil: none
	// MetricsMaxAge is how long the sandbox, job and runner gauges read
	// from the store are reused across scrapes (default 10s).
	MetricsMaxAge time.Duration
	Now           func() time.Time // nil: Clock.Now
	// Clock drives the poll's hold (timers tagged "poll", "wait") and, when
	// Now is nil, the time; nil: the real clock. Tests pass a quartz.Mock.
	Clock quartz.Clock
	// Hub wakes waiting polls when jobs are enqueued; nil: a LocalHub, which
	// serves one process (see Hub for several replicas).
	Hub Hub
	// AdvertiseURL is this replica's base URL as runners reach it
	// (e.g. https://replica-1.internal:3000); when set, tunnel jobs name it
	// (wire.TunnelPayload.URL) so the runner dials back the replica that
	// holds the client's side. Empty: runners dial their configured server.
	AdvertiseURL string
	// Quota is every user's quota unless an admin overrides it for one
	// (nil or zero fields: no limit; the server command defaults it to
	// codepod.DefaultQuota).
	Quota *codepod.Quota
	// JobRetention keeps finished jobs this long (default 24h);
	// DeletedRetention keeps deleted sandboxes' rows this long (default 7
	// days); HousekeepingInterval is how often both are pruned (default 1m).
	JobRetention         time.Duration
	DeletedRetention     time.Duration
	HousekeepingInterval time.Duration
	// PlacementMaxAge is how long placement reuses its view of the online
	// runners before it reads them again (default 1s). Changes of runners
	// made by this process, and a view with no room, read them at once; the
	// view only chooses which runner to try (see placementView).
	PlacementMaxAge time.Duration
	// Webhooks configures webhook delivery (docs/webhooks.md).
	Webhooks WebhookConfig
	// WebhookRetention keeps webhook events whose deliveries all ended
	// this long (default 7 days).
	WebhookRetention time.Duration
	// AuditRetention keeps audit log entries this long; 0 keeps them
	// forever (the server command defaults it to DefaultAuditRetention).
	AuditRetention time.Duration
	// IdleProbe, when set, is asked before a sandbox is stopped for being
	// idle (the API server sets it: it reaches agents); nil: no probe.
	IdleProbe IdleProbe
}

// Defaults of Config.
const (
	DefaultLease         = 60 * time.Second
	DefaultPollWait      = 25 * time.Second
	DefaultRunnerTimeout = 60 * time.Second
	DefaultTickInterval  = 2 * time.Second
	// MaxPollWait caps how long one poll is held, whatever it asks for.
	MaxPollWait = 60 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Limits == (codepod.Limits{}) {
		c.Limits = codepod.DefaultLimits
	}
	setDuration(&c.Lease, DefaultLease)
	setDuration(&c.PollWait, DefaultPollWait)
	setDuration(&c.RunnerTimeout, DefaultRunnerTimeout)
	setDuration(&c.TickInterval, DefaultTickInterval)
	setDuration(&c.JobRetention, DefaultJobRetention)
	setDuration(&c.DeletedRetention, DefaultDeletedRetention)
	setDuration(&c.HousekeepingInterval, DefaultHousekeepingInterval)
	if c.Quota == nil {
		c.Quota = &codepod.Quota{}
	}
	setDuration(&c.MetricsMaxAge, 10*time.Second)
	setDuration(&c.PlacementMaxAge, time.Second)
	setDuration(&c.WebhookRetention, 7*24*time.Hour)
	c.Webhooks = c.Webhooks.withDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = quartz.NewReal()
	}
	if c.Now == nil {
		clock := c.Clock
		c.Now = func() time.Time { return clock.Now() }
	}
	if c.Hub == nil {
		c.Hub = NewLocalHub()
	}
	return c
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Service is the control plane. Its methods are safe for concurrent use;
// Run drives the background work (offline detection, TTL reaper, placement
// retries, lease-expiry wake-ups).
type Service struct {
	probe   atomic.Pointer[IdleProbe]              // SetIdleProbe's, else cfg.IdleProbe
	warm    atomic.Pointer[func(sandboxID string)] // SetWarmReady's
	st      codepod.Store
	cfg     Config
	log     *slog.Logger
	hub     Hub
	leases  *leaseWatch
	metrics *metrics
	// placeMu keeps one pass over the waiting sandboxes (placePending) per
	// process at a time (a second one returns at once); creates do not take
	// it. Correctness does not rest on it: placement claims a runner's room
	// under the runner's row lock and places a sandbox with a conditional
	// write, so creates and replicas neither overfill nor place twice.
	placeMu sync.Mutex
	// view is the online runners and their usage that placement chooses
	// from (placementView); viewMu guards the pointer and what it points
	// to, and is never held across a database call. viewLoading says that
	// a read of the runners is under way; viewStale asks for a read.
	viewMu sync.Mutex
	// createGate lets one create of this process at a time run its
	// transaction. On SQLite (one writer) creates gain nothing from
	// waiting for the writer side by side, and job results and heartbeats
	// (which do not go first, as claims do) would wait behind all of them.
	// On PostgreSQL, creates side by side on two cores made more creates
	// per second on an empty server but doubled the tail of poll-to-delivery
	// at 1,000 runners (their commits and the claims' compete for the CPU
	// and the WAL; docs/benchmarks.md, "Issue 13 on a quiet machine"). Other
	// replicas' creates still run beside this one's: correctness rests on
	// the row locks and conditional writes, not on this gate.
	createGate  sync.Mutex
	view        *placement
	viewLoading bool
	viewStale   atomic.Bool
	// polls are the runners whose poll this process holds right now: a
	// runner waiting in a poll is not silent, however long the wait.
	polls activePolls
	// lastPoll is when each runner's latest poll here began (previousPoll).
	lastPoll sync.Map

	houseMu          sync.Mutex
	lastHousekeeping time.Time

	hooks    WebhookConfig
	hookWake chan struct{} // wakes this replica's deliverer
}

// New returns a Service on st. It registers its metrics on cfg.Registerer.
func New(st codepod.Store, cfg Config) *Service {
	cfg = cfg.withDefaults()
	s := &Service{st: st, cfg: cfg, log: cfg.Logger, hub: cfg.Hub, leases: newLeaseWatch(),
		hooks: cfg.Webhooks, hookWake: make(chan struct{}, 1)}
	s.metrics = newMetrics(st, cfg.Registerer, cfg.Logger, cfg.Now, cfg.MetricsMaxAge)
	return s
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// Run does the background work every TickInterval until ctx ends, then
// returns nil. Several Services (replicas) may run it on one database: each
// step is idempotent.
func (s *Service) Run(ctx context.Context) error {
	if err := s.sweepOffline(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("mark sandboxes of offline runners lost", keyErr, err)
	}
	var hooks sync.WaitGroup
	defer hooks.Wait()
	hooks.Go(func() { s.deliverWebhooks(ctx) })
	t := s.cfg.Clock.NewTicker(s.cfg.TickInterval, "tick")
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick runs each background step once; a failing step is logged and the
// others still run.
func (s *Service) tick(ctx context.Context) {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"mark offline runners", s.markOffline},
		{"reap expired sandboxes", s.reapExpired},
		{"stop idle sandboxes", s.reapIdle},
		{"place pending sandboxes", s.placePending},
		{"housekeeping", s.housekeep},
	}
	for _, st := range steps {
		if err := st.fn(ctx); err != nil && ctx.Err() == nil {
			s.log.Error(st.name, keyErr, err)
		}
	}
	s.wakeExpiredLeases()
}

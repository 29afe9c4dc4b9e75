package control

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/codepod-dev/codepod"
)

// metrics are the queue's counters, kept by this process.
type metrics struct {
	enqueued     *prometheus.CounterVec
	leased       prometheus.Counter
	leaseExpired prometheus.Counter
	finished     *prometheus.CounterVec
	pollWait     prometheus.Histogram
	webhooks     *prometheus.CounterVec
}

func newMetrics(st codepod.Store, reg prometheus.Registerer, log *slog.Logger, now func() time.Time, maxAge time.Duration) *metrics {
	m := &metrics{
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codepod_jobs_enqueued_total", Help: "Jobs enqueued for runners, by kind.",
		}, []string{"kind"}),
		leased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "codepod_jobs_leased_total", Help: "Jobs leased to runners (every delivery, first or again).",
		}),
		leaseExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "codepod_jobs_lease_expired_total", Help: "Jobs leased again because their previous lease expired.",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codepod_jobs_finished_total", Help: "Job results applied, by kind and success.",
		}, []string{"kind", "ok"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codepod_webhook_attempts_total", Help: "Webhook delivery attempts, by outcome (succeeded, retry, failed).",
		}, []string{"outcome"}),
		pollWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "codepod_poll_wait_seconds",
			Help:    "How long runner polls waited for a job before they answered.",
			Buckets: []float64{.001, .005, .025, .1, .5, 1, 2.5, 5, 10, 25, 60},
		}),
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.enqueued, m.leased, m.leaseExpired, m.finished, m.pollWait, m.webhooks, newStoreCollector(st, log, now, maxAge)} {
		if err := reg.Register(c); err != nil {
			log.Warn("register control metrics", keyErr, err)
		}
	}
	return m
}

func (m *metrics) finishedJob(kind codepod.JobKind, ok bool) {
	m.finished.WithLabelValues(string(kind), strconv.FormatBool(ok)).Inc()
}

// storeCollector reports gauges read from the store, so every replica
// reports the same, true figures. The counts are read at most once per
// maxAge whatever the scrape rate (several scrapers, several replicas), and
// housekeeping keeps the tables they scan small.
type storeCollector struct {
	st        codepod.Store
	log       *slog.Logger
	now       func() time.Time
	maxAge    time.Duration
	mu        sync.Mutex
	readAt    time.Time
	snapshot  []prometheus.Metric
	online    *prometheus.Desc
	sandboxes *prometheus.Desc
	jobs      *prometheus.Desc
}

func newStoreCollector(st codepod.Store, log *slog.Logger, now func() time.Time, maxAge time.Duration) *storeCollector {
	return &storeCollector{
		st:        st,
		log:       log,
		now:       now,
		maxAge:    maxAge,
		online:    prometheus.NewDesc("codepod_runners_online", "Runners that are online.", nil, nil),
		sandboxes: prometheus.NewDesc("codepod_sandboxes", "Sandboxes, by status.", []string{"status"}, nil),
		jobs:      prometheus.NewDesc("codepod_jobs", "Runner jobs, by status.", []string{"status"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.online
	ch <- c.sandboxes
	ch <- c.jobs
}

// Collect implements prometheus.Collector: the figures read within maxAge,
// or new ones.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.snapshot == nil || !now.Before(c.readAt.Add(c.maxAge)) {
		c.snapshot = c.snapshot[:0]
		c.read(func(m prometheus.Metric) { c.snapshot = append(c.snapshot, m) })
		c.readAt = now
	}
	for _, m := range c.snapshot {
		ch <- m
	}
}

// read reads the figures from the store. A figure the store cannot give is
// left out of the scrape (and logged) rather than failing it.
func (c *storeCollector) read(emit func(prometheus.Metric)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := countOnline(ctx, c.st); err != nil {
		c.log.Warn("metrics: count online runners", keyErr, err)
	} else {
		emit(prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(n)))
	}
	if byStatus, err := c.st.CountSandboxesByStatus(ctx); err != nil {
		c.log.Warn("metrics: count sandboxes", keyErr, err)
	} else {
		for _, st := range codepod.SandboxStatuses {
			emit(prometheus.MustNewConstMetric(c.sandboxes, prometheus.GaugeValue, float64(byStatus[st]), string(st)))
		}
	}
	if byStatus, err := c.st.CountJobsByStatus(ctx); err != nil {
		c.log.Warn("metrics: count jobs", keyErr, err)
	} else {
		for _, st := range []codepod.JobStatus{codepod.JobQueued, codepod.JobLeased, codepod.JobDone, codepod.JobFailed} {
			emit(prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(byStatus[st]), string(st)))
		}
	}
}

func countOnline(ctx context.Context, st codepod.Store) (int, error) {
	runners, err := allRunners(ctx, st)
	n := 0
	for _, r := range runners {
		if r.Status == codepod.RunnerOnline {
			n++
		}
	}
	return n, err
}

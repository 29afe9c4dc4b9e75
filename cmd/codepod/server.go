package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/internal/version"
	"github.com/codepod-dev/codepod/mcpserver"
	"github.com/codepod-dev/codepod/store"
)

// serverOptions are the server's settings; flags and environment fill them.
type serverOptions struct {
	Addr          string
	DataDir       string
	DatabaseURL   string
	TLSCert       string
	TLSKey        string
	LogLevel      string
	LogFormat     string
	Lease         time.Duration
	RunnerTimeout time.Duration
	PollWait      time.Duration
	MaxTTL        time.Duration
	MaxCPU        float64
	MaxMemory     string
	MaxDisk       string
	AdvertiseURL  string
	MetricsToken  string
	// PreviewBaseURL is a separate origin for the preview proxy.
	PreviewBaseURL string
	Runtime        string
	NetPolicy      string
	WebhookAllow   string
	DevcPolicy     string
	MaxUpload      string
	BlobGrace      time.Duration
	Limits         limitOptions // server_limits.go
	Accounts       accountOptions
}

func (o *serverOptions) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	envString(fs, &o.Addr, "addr", "CODEPOD_ADDR", ":3000", "address to listen on")
	envString(fs, &o.DataDir, "data-dir", "CODEPOD_DATA_DIR", defaultDataDir(), "data directory (SQLite database, admin key)")
	envString(fs, &o.DatabaseURL, "database-url", "DATABASE_URL", "", "database: sqlite://PATH or postgres://… (default sqlite://<data-dir>/codepod.db)")
	envString(fs, &o.TLSCert, "tls-cert", "CODEPOD_TLS_CERT", "", "TLS certificate (PEM); with --tls-key the server speaks HTTPS")
	envString(fs, &o.TLSKey, "tls-key", "CODEPOD_TLS_KEY", "", "TLS private key (PEM)")
	envString(fs, &o.LogLevel, "log-level", "CODEPOD_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	envString(fs, &o.LogFormat, "log-format", "CODEPOD_LOG_FORMAT", "text", "log format: text or json")
	envDuration(fs, &o.Lease, "job-lease", "CODEPOD_JOB_LEASE", 60*time.Second, "how long a runner holds a job before it is delivered again")
	envDuration(fs, &o.RunnerTimeout, "runner-timeout", "CODEPOD_RUNNER_TIMEOUT", 60*time.Second, "a runner not heard from for this long is offline and its sandboxes lost")
	envDuration(fs, &o.PollWait, "poll-wait", "CODEPOD_POLL_WAIT", 25*time.Second, "how long a runner's poll is held when no job is ready")
	envDuration(fs, &o.MaxTTL, "max-ttl", "CODEPOD_MAX_TTL", 0, "longest sandbox TTL allowed; 0: no limit and TTL optional")
	envFloat(fs, &o.MaxCPU, "max-cpu", "CODEPOD_MAX_CPU", codepod.DefaultLimits.MaxCPU, "most CPUs one sandbox may ask for")
	envString(fs, &o.PreviewBaseURL, "preview-base-url", "CODEPOD_PREVIEW_BASE_URL", "", "a second origin (scheme://host[:port]) that reaches this server, for preview links: pages served from sandboxes then never share the web UI's origin (docs/preview.md)")
	envString(fs, &o.MetricsToken, "metrics-token", "CODEPOD_METRICS_TOKEN", "", "when set, /metrics answers only scrapes that send Authorization: Bearer <this token>")
	envString(fs, &o.AdvertiseURL, "advertise-url", "CODEPOD_ADVERTISE_URL", "", "this replica's own base URL as runners reach it; tunnel jobs tell runners to dial back here (needed with several replicas)")
	envString(fs, &o.NetPolicy, "default-network-policy", "CODEPOD_DEFAULT_NETWORK_POLICY", "", "network policy of a sandbox that asks for neither --network nor a policy: none, internet or allow:CIDR[,CIDR...] (default: network none)")
	envString(fs, &o.WebhookAllow, "webhook-allow-net", "CODEPOD_WEBHOOK_ALLOW_NET", "", "CIDRs webhooks may reach although loopback, link-local or private, comma-separated (e.g. 10.0.0.0/8 for receivers on the internal network); default none")
	envString(fs, &o.Runtime, "default-runtime", "CODEPOD_DEFAULT_RUNTIME", codepod.RuntimeRunc, "runtime of a sandbox that names none: runc or gvisor")
	o.Accounts.register(fs)
	envString(fs, &o.DevcPolicy, "devcontainer-policy", "CODEPOD_DEVCONTAINER_POLICY", codepod.DevcontainerStrict, "devcontainer.json privileged, capAdd, securityOpt, runArgs, bind mounts, initializeCommand: strict refuses the sandbox naming them; filter drops them and lists them on the sandbox")
	envString(fs, &o.MaxMemory, "max-memory", "CODEPOD_MAX_MEMORY", codepod.FormatBytes(codepod.DefaultLimits.MaxMemory), "most memory one sandbox may ask for")
	envString(fs, &o.MaxDisk, "max-disk", "CODEPOD_MAX_DISK", codepod.FormatBytes(codepod.DefaultLimits.MaxDisk), "most disk one sandbox may write to its file system (its runner stops it past its own limit, 10g by default)")
	envString(fs, &o.MaxUpload, "max-upload-bytes", "CODEPOD_MAX_UPLOAD_BYTES", "1g", "largest build context or workspace upload (sandbox create --devcontainer)")
	envDuration(fs, &o.BlobGrace, "upload-grace", "CODEPOD_UPLOAD_GRACE", api.DefaultBlobGrace, "how long an upload no sandbox names is kept")
	o.Limits.register(fs)
}

func newServerCmd() *cobra.Command {
	var o serverOptions
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the CodePod API server",
		Long: `Run the CodePod API server: the REST API under /api/v1, the runner
protocol, WebSocket tunnels, /healthz, /readyz and /metrics, on one port.

On its first start it creates the admin user and prints the admin API key
once; the key is also written to <data-dir>/admin-api-key (mode 0600).
Every flag can also be set through the environment variable named in its help.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, err := startServer(cmd.Context(), o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return srv.wait()
		},
	}
	o.register(cmd)
	return cmd
}

// runningServer is a started server: wait blocks until its context ends and
// it has shut down.
type runningServer struct {
	URL    string
	Store  *store.DB
	Logger *slog.Logger
	done   chan error
}

func (s *runningServer) wait() error { return <-s.done }

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func (o serverOptions) limits() (codepod.Limits, error) {
	l := codepod.DefaultLimits
	l.MaxCPU, l.MaxTTL = o.MaxCPU, o.MaxTTL
	if o.Runtime != codepod.RuntimeRunc && o.Runtime != codepod.RuntimeGVisor {
		return l, fmt.Errorf("--default-runtime %q: use %s or %s", o.Runtime, codepod.RuntimeRunc, codepod.RuntimeGVisor)
	}
	l.DefaultRuntime = o.Runtime
	if o.DevcPolicy != codepod.DevcontainerStrict && o.DevcPolicy != codepod.DevcontainerFilter {
		return l, fmt.Errorf("--devcontainer-policy %q: use %s or %s", o.DevcPolicy, codepod.DevcontainerStrict, codepod.DevcontainerFilter)
	}
	l.DevcontainerPolicy = o.DevcPolicy
	if o.NetPolicy != "" {
		mode, list, _ := strings.Cut(o.NetPolicy, ":")
		p := &codepod.NetworkPolicy{Mode: mode}
		if list != "" {
			p.Allow = strings.Split(list, ",")
		}
		if err := p.Normalize(); err != nil {
			return l, fmt.Errorf("--default-network-policy %q: %w", o.NetPolicy, err)
		}
		l.DefaultNetworkPolicy = p
	}
	mem, err := codepod.ParseBytes(o.MaxMemory)
	if err != nil {
		return l, fmt.Errorf("--max-memory: %w", err)
	}
	l.MaxMemory = mem
	if l.DefaultMemory > mem {
		l.DefaultMemory = mem
	}
	disk, err := codepod.ParseBytes(o.MaxDisk)
	if err != nil {
		return l, fmt.Errorf("--max-disk: %w", err)
	}
	if disk < codepod.MinDisk {
		return l, fmt.Errorf("--max-disk %s is below the least a sandbox may ask for (%s)", o.MaxDisk, codepod.FormatBytes(codepod.MinDisk))
	}
	l.MaxDisk = disk
	if l.DefaultDisk > disk {
		l.DefaultDisk = disk
	}
	return l, nil
}

// startServer opens the store, bootstraps the admin, and serves until ctx ends.
func startServer(ctx context.Context, o serverOptions, stderr interface{ Write([]byte) (int, error) }) (*runningServer, error) {
	if err := errors.Join(badEnv...); err != nil {
		return nil, err
	}
	logger, err := newLogger(o.LogLevel, o.LogFormat)
	if err != nil {
		return nil, err
	}
	limits, err := o.limits()
	if err != nil {
		return nil, err
	}
	apiLimits, err := o.Limits.limits()
	if err != nil {
		return nil, err
	}
	if err := checkAdvertiseURL(o.AdvertiseURL); err != nil {
		return nil, err
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if err := store.PrepareDataDir(o.DataDir); err != nil {
		return nil, err
	}
	dbURL := o.DatabaseURL
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(o.DataDir, "codepod.db")
	}
	st, err := store.Open(ctx, dbURL, logger)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	key, created, err := api.Bootstrap(ctx, st, o.DataDir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if created {
		fmt.Fprintf(stderr, "\nCreated the admin user. Its API key, shown only this once (also in %s):\n\n    %s\n\n",
			filepath.Join(o.DataDir, "admin-api-key"), key)
	}
	hub, closeHub, err := newHub(ctx, st, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctlCfg := control.Config{
		Limits: limits, Lease: o.Lease, PollWait: o.PollWait, RunnerTimeout: o.RunnerTimeout,
		Logger: logger, Registerer: reg, Hub: hub, AdvertiseURL: o.AdvertiseURL,
	}
	if ctlCfg.Webhooks.AllowNets, err = parseCIDRs(o.WebhookAllow); err != nil {
		closeHub()
		return nil, fmt.Errorf("--webhook-allow-net: %w", err)
	}
	if err := o.Accounts.apply(&ctlCfg); err != nil {
		closeHub()
		return nil, err
	}
	ctl := control.New(st, ctlCfg)
	maxUpload, err := codepod.ParseBytes(o.MaxUpload)
	if err != nil {
		closeHub()
		return nil, fmt.Errorf("--max-upload-bytes %q: give a size such as 512m or 2g", o.MaxUpload)
	}
	apiSrv := api.New(api.Config{Store: st, Control: ctl, Logger: logger, Version: version.String(), Registry: reg, DataDir: o.DataDir, Limits: apiLimits,
		MetricsToken: o.MetricsToken, MaxBlobBytes: maxUpload, BlobGrace: o.BlobGrace,
		PreviewBaseURL: o.PreviewBaseURL})
	return serve(ctx, o, st, closeHub, ctl, apiSrv, logger)
}

// newHub is the hub that wakes runner polls: on PostgreSQL one that also
// wakes them on the other replicas (LISTEN/NOTIFY), on SQLite nil (the
// control plane's local hub). closeAll stops the hub, if any, and closes st.
func newHub(ctx context.Context, st *store.DB, logger *slog.Logger) (hub control.Hub, closeAll func(), err error) {
	if st.Dialect() != store.DialectPostgres {
		return nil, func() { st.Close() }, nil
	}
	h, err := st.NewHub(ctx, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("start the job listener: %w", err)
	}
	return h, func() { h.Close(); st.Close() }, nil
}

// checkAdvertiseURL accepts "" or an absolute http(s) URL with a host.
func checkAdvertiseURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--advertise-url %q: give this replica's base URL as runners reach it, e.g. https://10.0.0.5:3000", s)
	}
	return nil
}

// serve serves until ctx ends; closeStore releases the store (and the hub).
func serve(ctx context.Context, o serverOptions, st *store.DB, closeStore func(), ctl *control.Service, apiSrv *api.Server, logger *slog.Logger) (*runningServer, error) {
	h := withMCP(apiSrv.Handler(), logger)
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	scheme := "http"
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			ln.Close()
			closeStore()
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	// No WriteTimeout: polls are held ~25 s and tunnels stream for hours.
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	rs := &runningServer{URL: scheme + "://" + loopbackAddr(ln.Addr()), Store: st, Logger: logger, done: make(chan error, 1)}
	ctlCtx, stopCtl := context.WithCancel(context.WithoutCancel(ctx))
	ctlDone := make(chan struct{})
	go func() { ctl.Run(ctlCtx); close(ctlDone) }()
	go apiSrv.RunBlobCollector(ctlCtx)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	logger.Info("codepod server listening", "url", rs.URL, "version", version.String())
	go func() {
		var err error
		select {
		case err = <-serveErr: // it failed by itself
		case <-ctx.Done():
			logger.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if hs.Shutdown(sctx) != nil {
				hs.Close()
			}
			cancel()
			if err = <-serveErr; errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
		}
		apiSrv.Close() // the pooled SSH connections to agents
		stopCtl()
		<-ctlDone
		closeStore()
		rs.done <- err
	}()
	return rs, nil
}

// loopbackAddr turns ":3000" or "[::]:3000" into "127.0.0.1:3000" for URLs.
func loopbackAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// parseCIDRs parses a comma-separated list of CIDRs (or single addresses).
func parseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR or an address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// withMCP serves the Model Context Protocol at /mcp beside the REST API,
// whose routes its tools call in-process (see mcpserver).
func withMCP(rest http.Handler, logger *slog.Logger) http.Handler {
	m := mcpserver.New(rest, mcpserver.Config{Logger: logger, Version: version.String()})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == mcpserver.Path {
			m.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/images"
	"github.com/codepod-dev/codepod/store"
	"github.com/codepod-dev/codepod/wire"
)

// cluster is a server and a runner in this process.
type cluster struct {
	URL      string
	AdminKey string
	HTTP     *http.Client
	Docker   *docker.Backend

	dir      string
	runnerID string
	pools    []runner.PoolSpec // the runner's warm pools (none in the shared cluster)
	backoff  time.Duration     // the runner's MaxBackoff (0: the default)
	Runner   *runner.Runner
	stop     []func() // in reverse order of start

	front    swapHandler        // what the HTTP server serves: the API server of the moment
	newAPI   func() *api.Server // a fresh API server on the cluster's store (restartAPI)
	apiClose func()
}

var (
	shared     *cluster
	sharedErr  error
	sharedOnce sync.Once
)

// sharedCluster starts the package's cluster on first use (skipping or
// failing without Docker, as testenv decides). TestMain stops it.
func sharedCluster(tb testing.TB) *cluster {
	tb.Helper()
	testenv.Docker(tb)
	agent := testenv.AgentBinary(tb)
	sharedOnce.Do(func() { shared, sharedErr = startCluster(agent) })
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}

func startCluster(agentBinary string, pools ...runner.PoolSpec) (c *cluster, err error) {
	dir, err := os.MkdirTemp("", "cpe") // short: agent socket paths live below it
	if err != nil {
		return nil, err
	}
	c = &cluster{dir: dir, HTTP: &http.Client{}, pools: pools}
	c.stop = append(c.stop, func() { os.RemoveAll(dir) })
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CODEPOD_E2E_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := c.startServer(log); err != nil {
		return nil, err
	}
	return c, c.startRunner(agentBinary, log)
}

// startServer runs store, control and API on 127.0.0.1:0.
func (c *cluster) startServer(log *slog.Logger) error {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = append(c.stop, cancel)
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(c.dir, "codepod.db"), log)
	if err != nil {
		return err
	}
	c.stop = append(c.stop, func() { st.Close() })
	if c.AdminKey, _, err = api.Bootstrap(ctx, st, c.dir); err != nil {
		return err
	}
	ctl := control.New(st, control.Config{Logger: log, TickInterval: 200 * time.Millisecond})
	ctlDone := make(chan struct{})
	go func() { defer close(ctlDone); ctl.Run(ctx) }()
	c.stop = append(c.stop, func() { cancel(); <-ctlDone })
	c.newAPI = func() *api.Server { return api.New(api.Config{Store: st, Control: ctl, Logger: log, DataDir: c.dir}) }
	srv := c.newAPI()
	c.front.set(srv.Handler())
	c.apiClose = func() { srv.Close() }
	c.stop = append(c.stop, func() { c.apiClose() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: &c.front, BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan struct{})
	go func() { defer close(served); hs.Serve(ln) }()
	c.stop = append(c.stop, func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		cancel() // ends held polls and tunnels, whose handlers Shutdown waits for
		hs.Shutdown(sctx)
		<-served
	})
	c.URL = "http://" + ln.Addr().String()
	return nil
}

// startRunner registers a runner on the local Docker Engine and runs it.
func (c *cluster) startRunner(agentBinary string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	be, err := docker.New(docker.Config{Logger: log})
	if err != nil {
		return err
	}
	c.Docker = be
	c.stop = append(c.stop, func() { be.Close() })
	if _, err := images.Ensure(ctx, be, images.Tiny, log); err != nil {
		return fmt.Errorf("build the tiny image: %w", err)
	}
	var tok struct{ Token string }
	if err := c.call(ctx, "POST", "/api/v1/runner-tokens", map[string]any{}, &tok, http.StatusCreated); err != nil {
		return err
	}
	r, err := runner.New(runner.Config{Server: c.URL, Token: tok.Token, StateDir: filepath.Join(c.dir, "r"),
		AgentBinary: agentBinary, Backend: be, Logger: log, StopTimeout: 2 * time.Second, Pools: c.pools,
		DiskCheckInterval: 300 * time.Millisecond,
		Capacity:          poolCapacity(c.pools), MaxBackoff: c.backoff})
	if err != nil {
		return err
	}
	rctx, rcancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); r.Run(rctx) }()
	c.stop = append(c.stop, func() { rcancel(); <-ran; c.removeContainers() })
	for deadline := time.Now().Add(30 * time.Second); r.ID() == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the runner did not register")
		}
	}
	c.runnerID, c.Runner = r.ID(), r
	return nil
}

// swapHandler serves the handler last set.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// restartAPI replaces the API server with a new one on the same store and
// closes the old one with its pooled SSH connections: what a client sees
// when the server restarts, without the runner having to reconnect.
func (c *cluster) restartAPI() {
	old := c.apiClose
	srv := c.newAPI()
	c.front.set(srv.Handler())
	c.apiClose = func() { srv.Close() }
	old()
}

// removeContainers removes what the runner left (sandboxes a test did not
// delete).
func (c *cluster) removeContainers() {
	ctx := context.Background()
	list, err := c.Docker.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelRunner+"="+c.runnerID))})
	if err != nil {
		return
	}
	for _, ct := range list {
		c.Docker.Client().ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true})
	}
}

func (c *cluster) close() {
	for i := len(c.stop) - 1; i >= 0; i-- {
		c.stop[i]()
	}
}

// call sends a JSON request as the admin and decodes the answer into out,
// failing unless the status is want.
func (c *cluster) call(ctx context.Context, method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	status, raw, err := c.raw(ctx, method, path, body, "application/json")
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: %d %s (want %d)", method, path, status, strings.TrimSpace(string(raw)), want)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// raw sends body as the admin and returns the status and the answer.
func (c *cluster) raw(ctx context.Context, method, path string, body io.Reader, contentType string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// poolCapacity lifts the sandbox limit of a benchmark's runner with warm
// pools (its members do not count, but 200 cycles make many sandboxes);
// the shared cluster keeps the default.
func poolCapacity(pools []runner.PoolSpec) wire.Capacity {
	if len(pools) > 0 {
		return wire.Capacity{Sandboxes: -1}
	}
	return wire.Capacity{}
}

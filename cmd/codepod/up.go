package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/images"
	"github.com/codepod-dev/codepod/store"
)

func newUpCmd() *cobra.Command {
	var (
		so       serverOptions
		ro       runnerOptions
		skipBase bool
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run CodePod on this machine: the server, a runner on the local Docker Engine, and the base image",
		Long: `Run everything on one machine: the server on --addr with SQLite in the data
directory (or DATABASE_URL), a runner on the local Docker Engine, and the
project's sandbox images (codepod/tiny, and codepod/base when it is missing,
built with debootstrap). On the first start the admin API key is printed once
and written to <data-dir>/admin-api-key. Ctrl-C stops it cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUp(cmd, so, ro, skipBase)
		},
	}
	so.register(cmd)
	ro.register(cmd, false)
	// up is for one machine: it listens on loopback unless told otherwise.
	if f := cmd.Flags().Lookup("addr"); f != nil {
		if _, ok := os.LookupEnv("CODEPOD_ADDR"); !ok {
			f.DefValue = upDefaultAddr
			so.Addr = upDefaultAddr
		}
		f.Usage = "address to listen on (up: loopback only by default; :3000 for every interface) [$CODEPOD_ADDR]"
	}
	cmd.Flags().BoolVar(&skipBase, "skip-base-image", false, "do not build codepod/base:latest when it is missing")
	return cmd
}

const upDefaultAddr = "127.0.0.1:3000"

// baseRefEnv names, for tests only, another tag to build the base image
// under, so that a test can start from "no base image" without removing
// the codepod/base:latest other tests and users rely on.
const baseRefEnv = "CODEPOD_UP_BASE_IMAGE"

func runUp(cmd *cobra.Command, so serverOptions, ro runnerOptions, skipBase bool) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	stderr := cmd.ErrOrStderr()
	be, err := docker.New(docker.Config{AgentChannel: ro.AgentChannel})
	if err != nil {
		return err
	}
	defer be.Close()
	imgLog, err := newLogger(so.LogLevel, so.LogFormat)
	if err != nil {
		return err
	}
	// The images first: the base image's build (minutes) goes on while the
	// agent is built and the server starts.
	builds := &images.Builds{}
	baseRef, baseBuilding := ensureImages(ctx, be, builds, skipBase, imgLog)
	if ro.AgentBinary == "" {
		agent, err := prepareLocalBinaries(ctx, stderr)
		if err != nil {
			return err
		}
		ro.AgentBinary = agent // "" leaves it to findAgent
	}
	cfg, err := ro.config()
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, so, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	log := srv.Logger
	cfg.Server, cfg.StateDir = srv.URL, filepath.Join(so.DataDir, "runner")
	cfg.Backend, cfg.Logger = be, log.With("component", "runner")
	if cfg.Firewall, err = ro.firewall(be, log); err != nil {
		cancel()
		srv.wait()
		return err
	}
	if cfg.Token, err = localRunnerToken(ctx, srv.Store, cfg.StateDir); err != nil {
		cancel()
		srv.wait()
		return err
	}
	cfg.ImageBuilds = builds
	r, err := runner.New(cfg)
	if err != nil {
		cancel()
		srv.wait()
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx) }()
	if err := waitHealthy(ctx, srv.URL); err != nil {
		cancel()
		return errors.Join(err, srv.wait(), <-runErr)
	}
	fmt.Fprintf(stderr, "\nCodePod is up: %s (web UI %s/ui/, data in %s)\n", srv.URL, srv.URL, so.DataDir)
	if baseBuilding {
		fmt.Fprintf(stderr, "The base image %s is still being built (progress lines follow, a few minutes);\n"+
			"sandboxes that need it wait, with the build's progress as their reason, and start when it is there.\n\n", baseRef)
	} else {
		fmt.Fprintln(stderr)
	}
	log.Info("CodePod is up", "url", srv.URL, "web_ui", srv.URL+"/ui/", "data_dir", so.DataDir)
	select {
	case err = <-runErr:
		cancel()
		return errors.Join(err, srv.wait())
	case err = <-srv.done:
		cancel()
		return errors.Join(err, <-runErr)
	}
}

// localRunnerToken returns a short-lived registration token for the local
// runner when its state directory holds no identity the database knows.
func localRunnerToken(ctx context.Context, st *store.DB, stateDir string) (string, error) {
	state, err := runner.LoadState(stateDir)
	if err != nil {
		return "", err
	}
	if state != nil {
		if _, err := st.Runner(ctx, state.RunnerID); err == nil {
			return "", nil
		}
		// The database was reset: register again.
		os.Remove(filepath.Join(stateDir, runner.StateFile))
	}
	admins, _, err := st.ListUsers(ctx, codepod.Page{Limit: 1})
	if err != nil || len(admins) == 0 {
		return "", fmt.Errorf("find the admin user: %v", err)
	}
	id := store.NewID(store.PrefixRunnerToken)
	s := secret.New(secret.RunnerToken, id)
	exp := time.Now().Add(10 * time.Minute)
	err = st.CreateRunnerToken(ctx, &codepod.RunnerToken{ID: id, Prefix: s.Prefix, Hash: s.Hash, CreatedBy: admins[0].ID, ExpiresAt: &exp})
	return s.Full, err
}

// ensureImages builds the project's images that are missing, beside the
// server: codepod/tiny (a second), and codepod/base unless skipBase. The
// base build is recorded in builds before this returns, so that a create
// for it, however early, waits for it instead of trying to pull it. It
// returns the base image's tag and whether it is being built.
func ensureImages(ctx context.Context, be *docker.Backend, builds *images.Builds, skipBase bool, log *slog.Logger) (string, bool) {
	baseRef, _ := images.Ref(images.Base)
	if ref := os.Getenv(baseRefEnv); ref != "" {
		baseRef = images.NormalizeRef(ref)
	}
	building := false
	var report func(string)
	var end func(error)
	if !skipBase {
		id, err := be.ImageID(ctx, baseRef)
		if err != nil {
			log.Warn("cannot look up the base image", "image", baseRef, "err", err)
		}
		if err == nil && id == "" {
			building = true
			report, end = builds.Begin(baseRef)
		}
	}
	go func() {
		if _, err := images.Ensure(ctx, be, images.Tiny, log); err != nil {
			log.Warn("could not build codepod/tiny:latest", "err", err)
		}
		if !building {
			return
		}
		err := images.BuildWith(ctx, be, images.Base, images.Options{Ref: baseRef, Progress: report}, log)
		end(err)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("could not build "+baseRef+"; sandboxes need another --image until it exists (see `codepod image build base`)", "err", err)
		case err == nil:
			log.Info("built " + baseRef + "; sandboxes of it can start now")
		}
	}()
	return baseRef, building
}

// waitHealthy waits until the server at url answers /healthz.
func waitHealthy(ctx context.Context, url string) error {
	if strings.HasPrefix(url, "https:") {
		return nil // served with the operator's certificate; the runner checks it
	}
	c := &http.Client{Timeout: 5 * time.Second}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server at %s does not answer /healthz: %w", url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

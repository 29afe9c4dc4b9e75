package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	cmd.Flags().BoolVar(&skipBase, "skip-base-image", false, "do not build codepod/base:latest when it is missing")
	return cmd
}

func runUp(cmd *cobra.Command, so serverOptions, ro runnerOptions, skipBase bool) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	cfg, err := ro.config()
	if err != nil {
		return err
	}
	be, err := docker.New(docker.Config{AgentChannel: ro.AgentChannel})
	if err != nil {
		return err
	}
	defer be.Close()
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
	go ensureImages(ctx, be, skipBase, log)
	r, err := runner.New(cfg)
	if err != nil {
		cancel()
		srv.wait()
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx) }()
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

// ensureImages builds the project's images that are missing. Sandboxes of an
// image that is not there yet fail with a clear error, so this runs beside
// the server rather than before it.
func ensureImages(ctx context.Context, be *docker.Backend, skipBase bool, log *slog.Logger) {
	if _, err := images.Ensure(ctx, be, images.Tiny, log); err != nil {
		log.Warn("could not build codepod/tiny:latest", "err", err)
	}
	if skipBase {
		return
	}
	built, err := images.EnsureBase(ctx, be, log)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Warn("could not build codepod/base:latest; sandboxes need --image until it exists (see `codepod image build base`)", "err", err)
	case built:
		log.Info("built codepod/base:latest")
	}
}

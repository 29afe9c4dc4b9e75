package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/images"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Build CodePod's own sandbox images on the local Docker Engine"}
	var mirror string
	build := &cobra.Command{
		Use:   "build base|tiny...",
		Short: "Build codepod/base:latest (Debian with python3, via debootstrap) or codepod/tiny:latest (busybox)",
		Long: `Build the project's sandbox images without a registry or docker build:
  base   codepod/base:latest — Debian bookworm with python3, nodejs, git, curl and bash,
         made with debootstrap (needs root, debootstrap and a Debian mirror)
  tiny   codepod/tiny:latest — a static busybox (needs /bin/busybox from busybox-static)
The recipes are described in images/README.md.`,
		Args:      cobra.MinimumNArgs(1),
		ValidArgs: images.Names(),
		RunE: func(cmd *cobra.Command, args []string) error {
			be, err := docker.New(docker.Config{})
			if err != nil {
				return err
			}
			defer be.Close()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			for _, name := range args {
				ref, err := images.Ref(name)
				if err != nil {
					return err
				}
				if err := images.BuildWith(cmd.Context(), be, name, images.Options{Mirror: mirror}, log); err != nil {
					return fmt.Errorf("build %s: %w", ref, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
			}
			return nil
		},
	}
	build.Flags().StringVar(&mirror, "mirror", "", "Debian mirror for base (default: this host's apt source)")
	cmd.AddCommand(build)
	return cmd
}

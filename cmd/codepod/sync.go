package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/devcontainer"
)

func newSandboxSyncCmd() *cobra.Command {
	var folder string
	var skipGitignored bool
	cmd := &cobra.Command{
		Use:   "sync NAME [DIR]",
		Short: "Copy a project folder into a running sandbox's workspace again",
		Long: `Copy DIR (default: the current folder) into the sandbox's workspace folder
(where create --devcontainer put the project), overwriting the files it has.
Files deleted locally are not deleted in the sandbox.`,
		Example: `  codepod sandbox sync dev
  codepod sandbox sync dev ./shop --folder /workspaces/shop`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 2 {
				dir = args[1]
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return fmt.Errorf("%s is not a folder: sync copies a project folder", dir)
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			if folder == "" {
				r, err := c.GetSandboxWithResponse(cmd.Context(), args[0])
				if err := c.check(err, r); err != nil {
					return err
				}
				if r.JSON200.WorkspaceFolder == nil || *r.JSON200.WorkspaceFolder == "" {
					return fmt.Errorf("sandbox %s has no workspace folder (it was not created with --devcontainer): name one with --folder", args[0])
				}
				folder = *r.JSON200.WorkspaceFolder
			}
			ws, err := devcontainer.PackWorkspace(dir, skipGitignored)
			if err != nil {
				return fmt.Errorf("pack %s: %w", dir, err)
			}
			defer ws.Remove()
			f, err := os.Open(ws.Path)
			if err != nil {
				return err
			}
			defer f.Close()
			r, err := c.UploadArchiveWithBodyWithResponse(cmd.Context(), args[0], &client.UploadArchiveParams{Path: folder}, "application/x-tar", f)
			if err := c.check(err, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "synced %s into %s:%s (%d entries)\n", dir, args[0], folder, r.JSON200.Files)
			return nil
		},
	}
	cmd.Flags().StringVar(&folder, "folder", "", "the folder in the sandbox (default: the sandbox's workspace folder)")
	cmd.Flags().BoolVar(&skipGitignored, "skip-gitignored", false, "leave what DIR's .gitignore lists out")
	return cmd
}

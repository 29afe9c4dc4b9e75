package main

import (
	"fmt"
	"os"
	"path"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/devcontainer"
)

func newSandboxSyncCmd() *cobra.Command {
	var folder string
	var skipGitignored, deleteStale bool
	cmd := &cobra.Command{
		Use:   "sync NAME [DIR]",
		Short: "Copy a project folder into a running sandbox's workspace again",
		Long: `Copy DIR (default: the current folder) into the sandbox's workspace folder
(where create --devcontainer put the project), overwriting the files it has.

Like rsync, files deleted locally stay in the sandbox unless --delete is
given: then whatever the workspace folder holds that DIR does not is
removed too (what postCreateCommand made there, such as node_modules,
included; with --skip-gitignored, what .gitignore lists is kept). Only the
workspace folder is touched: a symbolic link in it is removed as a link,
never followed.`,
		Example: `  codepod sandbox sync dev
  codepod sandbox sync dev --delete --skip-gitignored
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
			sb, err := c.GetSandboxWithResponse(cmd.Context(), args[0])
			if err := c.check(err, sb); err != nil {
				return err
			}
			if folder == "" {
				if sb.JSON200.WorkspaceFolder == nil || *sb.JSON200.WorkspaceFolder == "" {
					return fmt.Errorf("sandbox %s has no workspace folder (it was not created with --devcontainer): name one with --folder", args[0])
				}
				folder = *sb.JSON200.WorkspaceFolder
			}
			// The files belong to remoteUser (else containerUser), as the
			// first copy's do.
			params := &client.UploadArchiveParams{Path: folder}
			if dc := sb.JSON200.Devcontainer; dc != nil {
				for _, k := range []string{"remoteUser", "containerUser"} {
					if u, _ := (*dc)[k].(string); u != "" {
						params.Owner = &u
						break
					}
				}
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
			r, err := c.UploadArchiveWithBodyWithResponse(cmd.Context(), args[0], params, "application/x-tar", f)
			if err := c.check(err, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "synced %s into %s:%s (%d entries)\n", dir, args[0], folder, r.JSON200.Files)
			if !deleteStale {
				return nil
			}
			n, err := syncDelete(cmd, c, args[0], folder, dir, ws.Path, skipGitignored)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "deleted %d entries of %s:%s that %s does not have\n", n, args[0], folder, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&folder, "folder", "", "the folder in the sandbox (default: the sandbox's workspace folder)")
	cmd.Flags().BoolVar(&skipGitignored, "skip-gitignored", false, "leave what DIR's .gitignore lists out (and, with --delete, keep it in the sandbox)")
	cmd.Flags().BoolVar(&deleteStale, "delete", false, "also delete what the workspace folder holds that DIR does not (as rsync --delete)")
	return cmd
}

// syncDelete removes from the sandbox's folder what the archive just
// uploaded does not hold, walking the folder through the files API (which
// lists symbolic links as links and removes them as links).
func syncDelete(cmd *cobra.Command, c *apiClient, sandbox, folder, dir, archive string, skipGitignored bool) (int, error) {
	local, err := devcontainer.ArchiveEntries(archive)
	if err != nil {
		return 0, fmt.Errorf("read the packed %s: %w", dir, err)
	}
	var keep func(string, bool) bool
	if skipGitignored {
		if keep, err = devcontainer.Gitignored(dir); err != nil {
			return 0, err
		}
	}
	ctx := cmd.Context()
	list := func(rel string) ([]devcontainer.RemoteEntry, error) {
		var out []devcontainer.RemoteEntry
		p := path.Join(folder, rel)
		var cursor *string
		for {
			r, err := c.ListFilesWithResponse(ctx, sandbox, &client.ListFilesParams{Path: p, Cursor: cursor})
			if err := c.check(err, r); err != nil {
				return nil, err
			}
			for _, e := range r.JSON200.Entries {
				out = append(out, devcontainer.RemoteEntry{Name: e.Name, Type: string(e.Type)})
			}
			if r.JSON200.NextCursor == "" {
				return out, nil
			}
			next := r.JSON200.NextCursor
			cursor = &next
		}
	}
	stale, err := devcontainer.StaleEntries(local, keep, list)
	if err != nil {
		return 0, fmt.Errorf("list %s:%s: %w", sandbox, folder, err)
	}
	yes := true
	for _, rel := range stale {
		r, err := c.DeleteFileWithResponse(ctx, sandbox, &client.DeleteFileParams{Path: path.Join(folder, rel), Recursive: &yes})
		if err := c.check(err, r); err != nil {
			return 0, fmt.Errorf("delete %s:%s: %w", sandbox, path.Join(folder, rel), err)
		}
	}
	return len(stale), nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/internal/version"
)

// exitError carries a process exit code through cobra (e.g. `sandbox exec`
// passing the remote command's status through) without printing anything.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string) int {
	if len(args) == 0 && isShell(args) {
		args = []string{"shell"}
	}
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee exitError
	var lost lostError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &lost):
		fmt.Fprintln(os.Stderr, "Error:", err)
		return ExitConnectionLost
	default:
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "codepod",
		Short:         "Disposable, isolated Linux sandboxes on Docker, over one HTTP(S) port",
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddGroup(&cobra.Group{ID: "run", Title: "Run CodePod:"}, &cobra.Group{ID: "use", Title: "Use CodePod:"})
	for _, c := range []*cobra.Command{newServerCmd(), newRunnerCmd(), newUpCmd(), newOpenAPICmd(), newImageCmd()} {
		c.GroupID = "run"
		root.AddCommand(c)
	}
	for _, c := range userCommands() {
		c.GroupID = "use"
		root.AddCommand(c)
	}
	root.InitDefaultCompletionCmd()
	rejectUnknownSubcommands(root)
	return root
}

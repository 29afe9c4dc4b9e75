package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// completeTimeout bounds the API call behind a completion, so a slow or
// unreachable server never freezes the shell.
const completeTimeout = 3 * time.Second

// completeSandboxes offers the caller's sandbox names (with their status as
// the description) for every argument of the command.
func completeSandboxes(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := newAPIClient(true)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), completeTimeout)
	defer cancel()
	params := client.ListSandboxesParams{}
	var names []cobra.Completion
	for {
		r, err := c.ListSandboxesWithResponse(ctx, &params)
		if err := c.check(err, r); err != nil {
			cobra.CompDebugln("codepod: "+err.Error(), true)
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		for _, sb := range r.JSON200.Items {
			if strings.HasPrefix(sb.Name, toComplete) && !contains(args, sb.Name) {
				names = append(names, cobra.CompletionWithDesc(sb.Name, fmt.Sprintf("%s, %s", sb.Status, sb.Image)))
			}
		}
		if r.JSON200.NextCursor == "" {
			break
		}
		params.Cursor = &r.JSON200.NextCursor
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeFirstSandbox completes the first argument only (exec, ssh, logs:
// what follows is a command, not a sandbox).
func completeFirstSandbox(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return completeSandboxes(cmd, args, toComplete)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sandboxRefCommands are the subcommands whose first argument is a sandbox.
var sandboxRefCommands = map[string]bool{"get": true, "exec": true, "ssh": true, "logs": true, "port-forward": true}

// addSandboxCompletion sets name completion on the sandbox subcommands
// that lack one.
func addSandboxCompletion(sandbox *cobra.Command) {
	for _, c := range sandbox.Commands() {
		if c.ValidArgsFunction == nil && sandboxRefCommands[c.Name()] {
			c.ValidArgsFunction = completeFirstSandbox
		}
	}
}

// rejectUnknownSubcommands makes every command group below root (sandbox,
// api-key, …) fail on an unknown subcommand, with cobra's suggestion,
// instead of printing its help and exiting 0; root does so by itself.
func rejectUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		rejectUnknownSubcommands(c)
		if !c.HasSubCommands() || c.Runnable() {
			continue
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := suggest(cmd, args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return fmt.Errorf("%s\n\nRun '%s --help' for its commands", msg, cmd.CommandPath())
		}
	}
}

// suggest names the subcommands closest to a typo: those one edit away,
// else two.
func suggest(cmd *cobra.Command, typo string) []string {
	for d := 1; d <= 2; d++ {
		cmd.SuggestionsMinimumDistance = d
		if s := cmd.SuggestionsFor(typo); len(s) > 0 {
			return s
		}
	}
	return nil
}

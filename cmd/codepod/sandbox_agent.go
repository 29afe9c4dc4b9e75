package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newSandboxAgentUpgradeCmd replaces a running sandbox's agent in place
// (admins; docs/upgrades.md).
func newSandboxAgentUpgradeCmd() *cobra.Command {
	out := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "agent-upgrade ID|NAME",
		Short: "Replace a running sandbox's agent in place with its runner's (admins; the sandbox keeps running)",
		Long: "Replace a running sandbox's agent in place with its runner's current agent binary. New sessions reach the\n" +
			"new agent; open ones (an exec stream, an SSH login) finish on the old one; the sandbox never stops.\n" +
			"Without it, a sandbox gets the runner's current agent at its next start. See docs/upgrades.md.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.UpgradeSandboxAgentWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			if ok, err := out.write(cmd.OutOrStdout(), r.JSON200); ok {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sandbox %s now runs agent %s\n", r.JSON200.Name, agentVersion(r.JSON200.AgentVersion, r.JSON200.AgentVersionSkew))
			return nil
		},
	}
	cmd.Flags().VarP(&out, "output", "o", "output format: table, json or yaml")
	return cmd
}

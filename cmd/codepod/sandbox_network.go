package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// policyFlags are --network-policy, --allow and --deny, shared by
// `sandbox create` and `sandbox network`.
type policyFlags struct {
	mode        string
	allow, deny []string
}

func (p *policyFlags) register(cmd *cobra.Command, modeFlag string) {
	f := cmd.Flags()
	f.StringVar(&p.mode, modeFlag, "", "network policy: none (nothing), internet (public addresses only) or allow (only --allow); enforced on the runner, changeable while it runs")
	f.StringArrayVar(&p.allow, "allow", nil, "reachable IPv4 address or CIDR, optionally :port, e.g. 203.0.113.0/24 or 198.51.100.7:443, or (policy allow) a domain name: api.example.com, *.example.com (repeatable; comma-separated too)")
	f.StringArrayVar(&p.deny, "deny", nil, "refused IPv4 address, CIDR or domain name (exact or *.suffix), optionally :port, before anything else (repeatable; comma-separated too)")
}

// policy is the request's policy, or nil when no flag asks for one. Lists
// without a mode mean allow (with --allow) or internet (only --deny).
func (p *policyFlags) policy() *client.NetworkPolicy {
	allow, deny := splitList(p.allow), splitList(p.deny)
	mode := p.mode
	switch {
	case mode == "" && len(allow) > 0:
		mode = "allow"
	case mode == "" && len(deny) > 0:
		mode = "internet"
	case mode == "":
		return nil
	}
	np := &client.NetworkPolicy{Mode: client.NetworkPolicyMode(mode)}
	if len(allow) > 0 {
		np.Allow = &allow
	}
	if len(deny) > 0 {
		np.Deny = &deny
	}
	return np
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// describePolicy is a policy on one line for people.
func describePolicy(p *client.NetworkPolicy) string {
	if p == nil {
		return ""
	}
	s := string(p.Mode)
	if p.Allow != nil && len(*p.Allow) > 0 {
		s += "; allow " + strings.Join(*p.Allow, ", ")
	}
	if p.Deny != nil && len(*p.Deny) > 0 {
		s += "; deny " + strings.Join(*p.Deny, ", ")
	}
	return s
}

func newSandboxNetworkCmd() *cobra.Command {
	var pf policyFlags
	cmd := &cobra.Command{
		Use:   "network ID|NAME --policy none|internet|allow [--allow ADDR]... [--deny ADDR]...",
		Short: "Change a sandbox's network policy (applied while it runs, no restart)",
		Example: `  codepod sandbox network demo --policy internet --deny 203.0.113.0/24
  codepod sandbox network demo --policy allow --allow 198.51.100.7:443`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			np := pf.policy()
			if np == nil {
				return fmt.Errorf("give --policy none|internet|allow (and --allow/--deny lists)")
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.SetSandboxNetworkPolicyWithResponse(cmd.Context(), args[0], *np)
			if err := c.check(err, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: network policy %s\n", r.JSON200.Name, describePolicy(r.JSON200.NetworkPolicy))
			return nil
		},
	}
	pf.register(cmd, "policy")
	return cmd
}

func newSandboxNetLogCmd() *cobra.Command {
	out := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "net-log ID|NAME",
		Short: "Show what a sandbox's network policy refused, per destination",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.GetSandboxNetLogWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			if out == "json" {
				return writeJSON(cmd.OutOrStdout(), r.JSON200)
			}
			var entries []client.NetLogEntry
			if r.JSON200.Entries != nil {
				entries = *r.JSON200.Entries
			}
			if len(entries) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing refused")
				return nil
			}
			rows := make([][]string, 0, len(entries))
			for _, e := range entries {
				rows = append(rows, []string{e.Destination, string(e.Reason), fmt.Sprint(e.Packets)})
			}
			return table(cmd.OutOrStdout(), []string{"DESTINATION", "REASON", "PACKETS"}, rows)
		},
	}
	cmd.Flags().VarP(&out, "output", "o", "output format: table or json")
	return cmd
}

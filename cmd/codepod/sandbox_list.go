package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

func newSandboxListCmd() *cobra.Command {
	var (
		status, labels []string
		all, quiet     bool
		out            = wideFormat("table")
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List your sandboxes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			params := client.ListSandboxesParams{}
			if len(status) > 0 {
				params.Status = &status
			}
			if len(labels) > 0 {
				params.Label = &labels
			}
			if all {
				params.All = &all
			}
			items := []client.Sandbox{}
			for {
				r, err := c.ListSandboxesWithResponse(cmd.Context(), &params)
				if err := c.check(err, r); err != nil {
					return err
				}
				items = append(items, r.JSON200.Items...)
				if r.JSON200.NextCursor == "" {
					break
				}
				params.Cursor = &r.JSON200.NextCursor
			}
			if ok, err := out.write(cmd.OutOrStdout(), items); ok {
				return err
			}
			rows := make([][]string, 0, len(items))
			for _, s := range items {
				row := []string{s.Id, s.Name, string(s.Status), s.Image,
					fmt.Sprint(s.Cpu), s.Memory, age(s.CreatedAt), expiresIn(s.ExpiresAt), idleTimeout(s.IdleTimeoutSeconds), s.Reason}
				if out == "wide" {
					row = append(row, s.RunnerId, s.AgentVersion, skew(s.AgentVersionSkew))
				}
				rows = append(rows, row)
			}
			if quiet {
				return firstColumn(cmd.OutOrStdout(), rows)
			}
			head := []string{"ID", "NAME", "STATUS", "IMAGE", "CPU", "MEMORY", "AGE", "EXPIRES", "IDLE", "REASON"}
			if out == "wide" {
				head = append(head, "RUNNER", "AGENT", "SKEW")
			}
			return table(cmd.OutOrStdout(), head, rows)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the sandbox ids, one a line (e.g. codepod sandbox delete $(codepod sandbox list -q))")
	cmd.Flags().StringSliceVar(&status, "status", nil, "only these statuses (e.g. running,stopped)")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only sandboxes with label key=value (repeatable)")
	cmd.Flags().BoolVar(&all, "all", false, "every user's sandboxes (admins)")
	cmd.Flags().VarP(&out, "output", "o", "output format: table, wide (adds runner and agent version with skew), json or yaml")
	return cmd
}

func newSandboxGetCmd() *cobra.Command {
	out := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one sandbox",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.GetSandboxWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			s := r.JSON200
			if ok, err := out.write(cmd.OutOrStdout(), s); ok {
				return err
			}
			rows := [][]string{
				{"ID", s.Id}, {"Name", s.Name}, {"Status", string(s.Status)}, {"Reason", s.Reason},
				{"Image", s.Image}, {"CPU", fmt.Sprint(s.Cpu)}, {"Memory", s.Memory}, {"Disk", s.Disk},
				{"Network", string(s.Network)}, {"Runtime", string(s.Runtime)}, {"Runner", s.RunnerId},
				{"Host key", s.HostKeyFingerprint}, {"Agent", agentVersion(s.AgentVersion, s.AgentVersionSkew)},
				{"Created", s.CreatedAt.Format(time.RFC3339)},
				{"Labels", joinKV(s.Labels)},
			}
			if s.ExpiresAt != nil {
				rows = append(rows, []string{"Expires", s.ExpiresAt.Format(time.RFC3339)})
			}
			if s.IdleTimeoutSeconds > 0 {
				rows = append(rows, []string{"Idle timeout", idleTimeout(s.IdleTimeoutSeconds)})
			}
			if s.IdleAt != nil && s.Status == client.SandboxStatusRunning {
				rows = append(rows, []string{"Idle at", s.IdleAt.Format(time.RFC3339)})
			}
			if s.NetworkPolicy != nil {
				rows = append(rows, []string{"Network policy", describePolicy(s.NetworkPolicy)})
			}
			rows = append(rows, devcontainerRows(s)...)
			if s.Ports != nil {
				for _, p := range *s.Ports {
					rows = append(rows, []string{"Port", describePort(p)})
				}
			}
			for i := range rows {
				rows[i][0] += ":"
			}
			return table(cmd.OutOrStdout(), nil, rows)
		},
	}
	cmd.Flags().VarP(&out, "output", "o", "output format: table, json or yaml")
	return cmd
}

// agentVersion renders a sandbox's agent version, marked when it differs
// from the server's.
func agentVersion(v string, skew bool) string {
	switch {
	case v == "":
		return "(not reported yet)"
	case skew:
		return v + " (SKEW: differs from the server's, see docs/upgrades.md)"
	}
	return v
}

func joinKV(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// age renders how long ago t was, like kubectl: 45s, 12m, 3h, 2d.
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// newSandboxActionCmd builds stop, start and delete: each takes several
// sandboxes, goes on past a failure, and exits non-zero if any failed.
// start and stop take --wait (until running or stopped).
func newSandboxActionCmd(action, short string) *cobra.Command {
	var (
		wait    bool
		timeout time.Duration
	)
	want := map[string]string{"start": "running", "stop": "stopped"}[action]
	cmd := &cobra.Command{
		Use:               action + " ID|NAME...",
		Short:             short,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeSandboxes,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			failed := 0
			for _, ref := range args {
				err := sandboxAction(cmd, c, action, ref)
				if err == nil && wait {
					_, err = waitStatus(cmd, c, ref, want, timeout)
				}
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Error: %s %s: %v\n", action, ref, err)
					failed++
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
			}
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	if want != "" {
		cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sandbox is "+want+", showing its progress")
		cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	}
	return cmd
}

func sandboxAction(cmd *cobra.Command, c *apiClient, action, ref string) error {
	ctx := cmd.Context()
	switch action {
	case "stop":
		r, err := c.StopSandboxWithResponse(ctx, ref)
		return c.check(err, r)
	case "start":
		r, err := c.StartSandboxWithResponse(ctx, ref)
		return c.check(err, r)
	default:
		r, err := c.DeleteSandboxWithResponse(ctx, ref)
		return c.check(err, r)
	}
}

package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// Preview ports, preview links and lifetime: `sandbox port`, `sandbox url`
// and `sandbox ttl` (see docs/preview.md).

func newSandboxPortCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "port",
		Short: "Open, close and list ports reachable through the server's preview proxy",
	}
	var public bool
	var label string
	open := &cobra.Command{
		Use:     "open ID|NAME PORT",
		Short:   "Open a port for the preview proxy (/api/v1/sandboxes/ID/ports/PORT/…)",
		Example: "  codepod sandbox port open demo 8000\n  codepod sandbox port open demo 8000 --public   # no credential needed",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			port, err := parsePortArg(args[1])
			if err != nil {
				return err
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			req := client.OpenPortRequest{Port: port}
			if public {
				req.Public = &public
			}
			setIf(&req.Label, label)
			r, err := c.OpenPortWithResponse(cmd.Context(), args[0], req)
			if err := c.check(err, r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "port %d open: %s%s\n", r.JSON200.Port, c.ServerURL, r.JSON200.Path)
			return nil
		},
	}
	open.Flags().BoolVar(&public, "public", false, "proxy it without any credential (anyone with the URL)")
	open.Flags().StringVar(&label, "label", "", "your name for the port")
	closeCmd := &cobra.Command{
		Use:   "close ID|NAME PORT",
		Short: "Close a port: the proxy refuses it and its preview links stop working",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			port, err := parsePortArg(args[1])
			if err != nil {
				return err
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.ClosePortWithResponse(cmd.Context(), args[0], port)
			return c.check(err, r)
		},
	}
	cmd.AddCommand(open, closeCmd, newSandboxPortListCmd())
	return cmd
}

func newSandboxPortListCmd() *cobra.Command {
	out := outputFormat("table")
	cmd := &cobra.Command{
		Use:     "list ID|NAME",
		Aliases: []string{"ls"},
		Short:   "List a sandbox's open ports",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.ListPortsWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			items := []client.Port{}
			if r.JSON200.Items != nil {
				items = *r.JSON200.Items
			}
			if ok, err := out.write(cmd.OutOrStdout(), items); ok {
				return err
			}
			rows := [][]string{}
			for _, p := range items {
				rows = append(rows, []string{fmt.Sprint(p.Port), fmt.Sprint(p.Public), p.Label, c.ServerURL + p.Path})
			}
			return table(cmd.OutOrStdout(), []string{"PORT", "PUBLIC", "LABEL", "URL"}, rows)
		},
	}
	cmd.Flags().VarP(&out, "output", "o", "output format: table, json or yaml")
	return cmd
}

func newSandboxURLCmd() *cobra.Command {
	var ttl string
	cmd := &cobra.Command{
		Use:     "url ID|NAME PORT",
		Short:   "Print a signed preview link to a port (opens the port if needed)",
		Example: "  codepod sandbox url demo 8000 --ttl 24h   # open it in a browser; no API key needed until it expires",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			port, err := parsePortArg(args[1])
			if err != nil {
				return err
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			req := client.PreviewURLRequest{Port: port}
			setIf(&req.Ttl, ttl)
			r, err := c.CreatePreviewUrlWithResponse(cmd.Context(), args[0], req)
			if err := c.check(err, r); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r.JSON200.Url)
			return nil
		},
	}
	cmd.Flags().StringVar(&ttl, "ttl", "", "how long the link works (default 1h, at most 168h)")
	return cmd
}

func newSandboxTTLCmd() *cobra.Command {
	var idle string
	cmd := &cobra.Command{
		Use:   "ttl ID|NAME [DURATION]",
		Short: "Set a sandbox's TTL from now (extend or shorten) and its idle timeout",
		Example: `  codepod sandbox ttl demo 2h                 # deleted 2 hours from now
  codepod sandbox ttl demo --idle-timeout 15m # stopped after 15 minutes without activity
  codepod sandbox ttl demo 0                  # no TTL (where the server allows it)`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req client.UpdateSandboxRequest
			if len(args) == 2 {
				req.Ttl = &args[1]
			}
			setIf(&req.IdleTimeout, idle)
			if req.Ttl == nil && req.IdleTimeout == nil {
				return fmt.Errorf("give a DURATION (the new TTL from now) or --idle-timeout")
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.UpdateSandboxWithResponse(cmd.Context(), args[0], req)
			if err := c.check(err, r); err != nil {
				return err
			}
			s := r.JSON200
			exp := "never"
			if s.ExpiresAt != nil {
				exp = s.ExpiresAt.Local().Format(time.RFC3339) + " (in " + expiresIn(s.ExpiresAt) + ")"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: expires %s; idle timeout %s\n", s.Name, exp, idleTimeout(s.IdleTimeoutSeconds))
			return nil
		},
	}
	cmd.Flags().StringVar(&idle, "idle-timeout", "", "stop the sandbox after this long without activity (sessions, preview traffic, processes); 0: never")
	return cmd
}

func parsePortArg(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q must be a number between 1 and 65535", s)
	}
	return n, nil
}

// expiresIn is how long until t, rounded, or "-" without one.
func expiresIn(t *time.Time) string {
	if t == nil {
		return "-"
	}
	d := time.Until(*t)
	if d <= 0 {
		return "now"
	}
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// idleTimeout renders an idle timeout in seconds, or "-" without one.
func idleTimeout(sec int64) string {
	if sec <= 0 {
		return "-"
	}
	return (time.Duration(sec) * time.Second).String()
}

func describePort(p client.Port) string {
	s := fmt.Sprintf("%d %s", p.Port, p.Path)
	if p.Public {
		s += " (public)"
	}
	if p.Label != "" {
		s += " " + p.Label
	}
	return s
}

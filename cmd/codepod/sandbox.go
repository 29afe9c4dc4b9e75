package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

func newSandboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "sandbox",
		Aliases: []string{"sb"},
		Short:   "Create, use and delete sandboxes",
	}
	cmd.AddCommand(newSandboxCreateCmd(), newSandboxListCmd(), newSandboxGetCmd(),
		newSandboxActionCmd("stop", "Stop sandboxes (their files stay)"),
		newSandboxActionCmd("start", "Start stopped sandboxes"),
		newSandboxActionCmd("delete", "Delete sandboxes and everything in them"),
		newSandboxNetworkCmd(), newSandboxNetLogCmd())
	cmd.AddCommand(sandboxSessionCommands()...)
	return cmd
}

// parseKV turns ["K=V", …] into a map; what is a flag name for messages.
func parseKV(pairs []string, what string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: use KEY=VALUE", what, p)
		}
		m[k] = v
	}
	return m, nil
}

func newSandboxCreateCmd() *cobra.Command {
	var (
		req          client.CreateSandboxRequest
		image, mem   string
		ttl, network string
		runtime      string
		devcontainer string
		cpu          float64
		env, labels  []string
		wait         bool
		pf           policyFlags
		timeout      time.Duration
		out          = outputFormat("table")
	)
	cmd := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create a sandbox",
		Example: `  codepod sandbox create demo --image codepod/base:latest --memory 1g --ttl 1h --wait
  codepod sandbox create --image codepod/tiny:latest --network none --env FOO=bar`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				req.Name = &args[0]
			}
			if devcontainer != "" {
				if err := applyDevcontainer(devcontainer, &image, &env); err != nil {
					return err
				}
			}
			setIf(&req.Image, image)
			setIf(&req.Memory, mem)
			setIf(&req.Ttl, ttl)
			if network != "" {
				n := client.CreateSandboxRequestNetwork(network)
				req.Network = &n
			}
			req.NetworkPolicy = pf.policy()
			if runtime != "" {
				rt := client.CreateSandboxRequestRuntime(runtime)
				req.Runtime = &rt
			}
			if cmd.Flags().Changed("cpu") {
				req.Cpu = &cpu
			}
			envMap, err := parseKV(env, "env")
			if err != nil {
				return err
			}
			labelMap, err := parseKV(labels, "label")
			if err != nil {
				return err
			}
			if envMap != nil {
				req.Env = &envMap
			}
			if labelMap != nil {
				req.Labels = &labelMap
			}
			r, err := c.CreateSandboxWithResponse(cmd.Context(), req)
			if err := c.check(err, r); err != nil {
				return err
			}
			sb := r.JSON201
			if wait {
				if sb, err = waitRunning(cmd, c, sb.Id, timeout); err != nil {
					return err
				}
			}
			if out == "json" {
				return writeJSON(cmd.OutOrStdout(), sb)
			}
			fmt.Fprintln(cmd.OutOrStdout(), sb.Id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "image", "", "image to run (default codepod/base:latest)")
	f.Float64Var(&cpu, "cpu", 1, "CPU cores, may be fractional")
	f.StringVar(&mem, "memory", "", "memory limit, e.g. 512m or 2g (default 512m)")
	f.StringArrayVar(&env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	f.StringVar(&ttl, "ttl", "", "delete the sandbox after this long, e.g. 30m or 1h")
	f.StringVar(&network, "network", "", "none (loopback only, default) or bridge")
	pf.register(cmd, "network-policy")
	f.StringVar(&runtime, "runtime", "", "runc (default) or gvisor (gVisor's user-space kernel; needs a runner that has it)")
	f.StringVar(&devcontainer, "devcontainer", "", "take image and environment from a devcontainer.json")
	f.BoolVar(&wait, "wait", false, "wait until the sandbox runs")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	f.VarP(&out, "output", "o", "output format: table (the id) or json")
	return cmd
}

func setIf(p **string, v string) {
	if v != "" {
		*p = &v
	}
}

// waitRunning polls a sandbox until it runs, fails, or timeout passes. On a
// terminal it shows status changes; piped, it stays quiet.
func waitRunning(cmd *cobra.Command, c *apiClient, id string, timeout time.Duration) (*client.Sandbox, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	progress := isTerminal(cmd.ErrOrStderr())
	last := ""
	for {
		r, err := c.GetSandboxWithResponse(ctx, id)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("sandbox %s is not running after %s (status %s)", id, timeout, last)
		}
		if err := c.check(err, r); err != nil {
			return nil, err
		}
		sb := r.JSON200
		if line := string(sb.Status) + ": " + sb.Reason; progress && line != last {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s %s\n", id, strings.TrimSuffix(line, ": "))
		}
		last = string(sb.Status)
		switch sb.Status {
		case "running":
			return sb, nil
		case "error", "deleted", "deleting", "lost", "stopped":
			return nil, fmt.Errorf("sandbox %s is %s: %s", id, sb.Status, sb.Reason)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

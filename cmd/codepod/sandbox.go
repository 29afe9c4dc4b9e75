package main

import (
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
		newSandboxNetworkCmd(), newSandboxNetLogCmd(), newSandboxAgentUpgradeCmd(), newSandboxSyncCmd(),
		newSandboxPortCmd(), newSandboxURLCmd(), newSandboxTTLCmd())
	cmd.AddCommand(sandboxSessionCommands()...)
	addSandboxCompletion(cmd)
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
		req            client.CreateSandboxRequest
		image, mem     string
		disk           string
		ttl, network   string
		idle           string
		runtime        string
		devcontainer   string
		dcConfig       string
		cpu            float64
		env, labels    []string
		wait, keep     bool
		skipGitignored bool
		pf             policyFlags
		timeout        time.Duration
		out            = outputFormat("table")
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
			var dcSrc *devcontainerSource
			if devcontainer != "" || dcConfig != "" {
				if dcSrc, err = applyDevcontainer(cmd.ErrOrStderr(), devcontainer, dcConfig, &image, &env, &req); err != nil {
					return err
				}
			}
			setIf(&req.Image, image)
			setIf(&req.Memory, mem)
			setIf(&req.Disk, disk)
			setIf(&req.Ttl, ttl)
			setIf(&req.IdleTimeout, idle)
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
			if dcSrc != nil {
				if err := uploadDevcontainer(cmd.Context(), cmd.ErrOrStderr(), c, dcSrc, skipGitignored, &req); err != nil {
					return err
				}
			}
			r, err := c.CreateSandboxWithResponse(cmd.Context(), nil, req)
			if err := c.check(err, r); err != nil {
				return err
			}
			sb := r.JSON201
			if wait {
				created := sb
				if sb, err = waitStatus(cmd, c, created.Id, "running", timeout); err != nil {
					if !keep {
						cleanUpFailedCreate(cmd, c, created.Id, created.Name)
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "kept sandbox %s (%s): delete it with `codepod sandbox delete %s`\n", created.Name, created.Id, created.Name)
					}
					return err
				}
			}
			if ok, err := out.write(cmd.OutOrStdout(), sb); ok {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), sb.Id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "image", "", "image to run (default codepod/base:latest)")
	f.Float64Var(&cpu, "cpu", 1, "CPU cores, may be fractional")
	f.StringVar(&mem, "memory", "", "memory limit, e.g. 512m or 2g (default 512m)")
	f.StringVar(&disk, "disk", "", "most the sandbox may write to its file system, e.g. 20g (default 10g); its runner stops it past that")
	f.StringArrayVar(&env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	f.StringVar(&ttl, "ttl", "", "delete the sandbox after this long, e.g. 30m or 1h")
	f.StringVar(&idle, "idle-timeout", "", "stop the sandbox after this long without activity (sessions, preview traffic, processes), e.g. 15m")
	f.StringVar(&network, "network", "", "none (loopback only, default) or bridge")
	pf.register(cmd, "network-policy")
	f.StringVar(&runtime, "runtime", "", "runc (default) or gvisor (gVisor's user-space kernel; needs a runner that has it)")
	f.StringVar(&devcontainer, "devcontainer", "", "take image and environment from a devcontainer.json, or from the one found in a project folder")
	f.StringVar(&dcConfig, "config", "", "with --devcontainer FOLDER: the devcontainer.json to use, relative to the folder (e.g. .devcontainer/python/devcontainer.json)")
	f.BoolVar(&skipGitignored, "skip-gitignored", false, "with --devcontainer: leave what the project's .gitignore lists out of the workspace copy (build outputs, node_modules)")
	f.BoolVar(&wait, "wait", false, "wait until the sandbox runs, showing its progress; delete it if it fails or --timeout passes")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	f.BoolVar(&keep, "keep-on-failure", false, "with --wait: keep a sandbox that failed or timed out (to read its reason or logs)")
	f.VarP(&out, "output", "o", "output format: table (the id), json or yaml")
	return cmd
}

func setIf(p **string, v string) {
	if v != "" {
		*p = &v
	}
}

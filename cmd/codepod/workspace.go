package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// newWorkspaceCmd is `codepod workspace`: workspaces and their members
// (docs/workspaces.md). `use` stores the workspace every later command
// acts in (config WORKSPACE, sent as the Codepod-Workspace header).
func newWorkspaceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "workspace", Aliases: []string{"workspaces", "ws"},
		Short: "Manage workspaces (shared sandboxes, keys and webhooks) and their members"}
	out := outputFormat("table")
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a workspace (you become its owner)", Args: cobra.ExactArgs(1),
		Example: "  codepod workspace create team-web && codepod workspace use team-web",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.CreateWorkspaceWithResponse(cmd.Context(), client.CreateWorkspaceRequest{Name: args[0]})
			if err := c.check(err, r); err != nil {
				return err
			}
			if ok, err := out.write(cmd.OutOrStdout(), r.JSON201); ok {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r.JSON201.Id)
			return nil
		},
	}
	create.Flags().VarP(&out, "output", "o", "output format: table (the id), json or yaml")

	list := listCmd("list", "List your workspaces (* marks the one in use)", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		r, err := c.ListWorkspacesWithResponse(cmd.Context())
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		cur := currentWorkspace()
		var rows [][]string
		for _, w := range r.JSON200.Items {
			mark := ""
			if (cur == "" && w.Personal) || cur == w.Id || cur == w.Name {
				mark = "*"
			}
			kind := "shared"
			if w.Personal {
				kind = "personal"
			}
			role := ""
			if w.Role != nil {
				role = string(*w.Role)
			}
			rows = append(rows, []string{mark, w.Id, w.Name, kind, role})
		}
		return r.JSON200.Items, rows, nil
	}, "", "ID", "NAME", "KIND", "ROLE")

	use := &cobra.Command{
		Use: "use NAME|ID|-", Short: "Act in a workspace from now on (\"-\": your personal one)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if args[0] == "-" {
				delete(cfg, "WORKSPACE")
				if err := cfg.save(); err != nil {
					return err
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "Now acting in your personal workspace.")
				return nil
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.GetWorkspaceWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			cfg["WORKSPACE"] = r.JSON200.Name
			if err := cfg.save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Now acting in workspace %s (%s).\n", r.JSON200.Name, r.JSON200.Id)
			return nil
		},
	}

	del := deleteCmd("delete NAME|ID...", "Delete workspaces (owners only; their sandboxes must be deleted first)", func(cmd *cobra.Command, c *apiClient, id string) error {
		r, err := c.DeleteWorkspaceWithResponse(cmd.Context(), id)
		return c.check(err, r)
	})

	member := &cobra.Command{Use: "member", Aliases: []string{"members"}, Short: "Add, list and remove the members of a workspace"}
	var ws, role string
	add := &cobra.Command{
		Use: "add EMAIL|USER_ID", Short: "Add a member, or change their role", Args: cobra.ExactArgs(1),
		Example: "  codepod workspace member add bob@example.com --role viewer",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.AddWorkspaceMemberWithResponse(cmd.Context(), workspaceArg(ws),
				client.AddMemberRequest{User: args[0], Role: client.AddMemberRequestRole(role)})
			return c.check(err, r)
		},
	}
	add.Flags().StringVar(&role, "role", "member", "owner, admin, member or viewer")
	remove := &cobra.Command{
		Use: "remove EMAIL|USER_ID", Short: "Remove a member", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.RemoveWorkspaceMemberWithResponse(cmd.Context(), workspaceArg(ws), args[0])
			return c.check(err, r)
		},
	}
	mlist := listCmd("list", "List the members", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		r, err := c.ListWorkspaceMembersWithResponse(cmd.Context(), workspaceArg(ws))
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		var rows [][]string
		for _, m := range r.JSON200.Items {
			email := ""
			if m.Email != nil {
				email = *m.Email
			}
			rows = append(rows, []string{m.UserId, email, string(m.Role)})
		}
		return r.JSON200.Items, rows, nil
	}, "USER", "EMAIL", "ROLE")
	for _, c := range []*cobra.Command{add, remove, mlist} {
		c.Flags().StringVarP(&ws, "workspace", "w", "", "the workspace (default: the one in use)")
	}
	member.AddCommand(add, remove, mlist)
	cmd.AddCommand(create, list, use, del, member)
	return cmd
}

// currentWorkspace is the workspace commands act in: $CODEPOD_WORKSPACE,
// else the config's WORKSPACE ("": the personal one).
func currentWorkspace() string {
	cfg, err := loadConfig()
	if err != nil {
		return ""
	}
	v, _ := cfg.get("WORKSPACE")
	return v
}

// workspaceArg is the workspace a member command names: the flag, else
// the one in use.
func workspaceArg(flag string) string {
	if flag != "" {
		return flag
	}
	if cur := currentWorkspace(); cur != "" {
		return cur
	}
	return "-" // never a workspace: the server's 404 says to name one
}

// runnerWorkspacesCmd is `codepod runner workspaces ID [WORKSPACE...]`
// (admin): dedicate a runner to workspaces; none: every workspace.
func runnerWorkspacesCmd() *cobra.Command {
	return &cobra.Command{
		Use: "workspaces RUNNER_ID [WORKSPACE...]", Short: "Dedicate a runner to workspaces (none: it serves every workspace) (admin)",
		Args:    cobra.MinimumNArgs(1),
		Example: "  codepod runner workspaces run_abc team-web     # only team-web's sandboxes\n  codepod runner workspaces run_abc              # shared by all again",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			ws := append([]string{}, args[1:]...)
			r, err := c.SetRunnerWorkspacesWithResponse(cmd.Context(), args[0], client.RunnerWorkspacesRequest{Workspaces: &ws})
			return c.check(err, r)
		},
	}
}

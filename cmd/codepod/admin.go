package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/client"
)

func newRunnerTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "runner-token", Short: "Manage runner registration tokens (admin)"}
	var expires string
	out := outputFormat("table")
	create := &cobra.Command{
		Use: "create", Short: "Create a registration token for `codepod runner --token` (shown once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.CreateRunnerTokenWithResponse(cmd.Context(), client.CreateRunnerTokenRequest{ExpiresIn: optString(expires)})
			if err := c.check(err, r); err != nil {
				return err
			}
			if ok, err := out.write(cmd.OutOrStdout(), r.JSON201); ok {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r.JSON201.Token)
			return nil
		},
	}
	create.Flags().StringVar(&expires, "expires-in", "", "lifetime, e.g. 24h (default: never expires)")
	create.Flags().VarP(&out, "output", "o", "output format: table (the token), json or yaml")
	list := listCmd("list", "List registration tokens", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		r, err := c.ListRunnerTokensWithResponse(cmd.Context(), &client.ListRunnerTokensParams{})
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		var rows [][]string
		for _, t := range r.JSON200.Items {
			rows = append(rows, []string{t.Id, t.Prefix, t.CreatedAt.Format(time.RFC3339), timeOrNever(t.ExpiresAt)})
		}
		return r.JSON200.Items, rows, nil
	}, "ID", "PREFIX", "CREATED", "EXPIRES")
	del := deleteCmd("delete ID...", "Delete registration tokens", func(cmd *cobra.Command, c *apiClient, id string) error {
		r, err := c.DeleteRunnerTokenWithResponse(cmd.Context(), id)
		return c.check(err, r)
	})
	cmd.AddCommand(create, list, del)
	return cmd
}

func runnerListCmd() *cobra.Command {
	return listCmd("list", "List runners", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		r, err := c.ListRunnersWithResponse(cmd.Context(), &client.ListRunnersParams{})
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		var rows [][]string
		for _, x := range r.JSON200.Items {
			capacity := fmt.Sprintf("%d/%d", x.Usage.Sandboxes, x.Capacity.Sandboxes)
			mem := codepod.FormatBytes(x.Usage.MemoryBytes) + "/" + codepod.FormatBytes(x.Capacity.MemoryBytes)
			runtimes := ""
			if x.Runtimes != nil {
				runtimes = strings.Join(*x.Runtimes, ",")
			}
			rows = append(rows, []string{x.Id, x.Name, string(x.Status), capacity, mem, runtimes, warmPools(x.WarmPools), joinKV(x.Labels), age(x.LastSeenAt), x.Version, skew(x.VersionSkew)})
		}
		return r.JSON200.Items, rows, nil
	}, "ID", "NAME", "STATUS", "SANDBOXES", "MEMORY", "RUNTIMES", "WARM", "LABELS", "SEEN", "VERSION", "SKEW")
}

// skew marks a runner whose version differs from the server's.
func skew(differs bool) string {
	if differs {
		return "SKEW"
	}
	return "-"
}

// warmPools shows a runner's warm pools as "IMAGE ready/size", one per
// pool, comma-separated ("-" for none).
func warmPools(pools *[]client.WarmPool) string {
	if pools == nil || len(*pools) == 0 {
		return "-"
	}
	var out []string
	for _, p := range *pools {
		out = append(out, fmt.Sprintf("%s %d/%d", p.Image, p.Ready, p.Size))
	}
	return strings.Join(out, ",")
}

func runnerDeleteCmd() *cobra.Command {
	return deleteCmd("delete ID...", "Delete runners (their sandboxes become unplaced)", func(cmd *cobra.Command, c *apiClient, id string) error {
		r, err := c.DeleteRunnerWithResponse(cmd.Context(), id)
		return c.check(err, r)
	})
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users (admin)"}
	var email, name string
	var admin, stdinPassword bool
	out := outputFormat("table")
	create := &cobra.Command{
		Use: "create", Short: "Create a user", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			req := client.CreateUserRequest{Email: email, Name: optString(name), Admin: &admin}
			if stdinPassword {
				pw, err := readPassword(cmd)
				if err != nil {
					return err
				}
				req.Password = &pw
			}
			r, err := c.CreateUserWithResponse(cmd.Context(), req)
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
	create.Flags().StringVar(&email, "email", "", "the user's login email")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().BoolVar(&admin, "admin", false, "make the user an admin")
	create.Flags().BoolVar(&stdinPassword, "password", false, "set a password (read from the terminal or standard input)")
	create.Flags().VarP(&out, "output", "o", "output format: table (the id), json or yaml")
	create.MarkFlagRequired("email")
	list := listCmd("list", "List users", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		r, err := c.ListUsersWithResponse(cmd.Context(), &client.ListUsersParams{})
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		var rows [][]string
		for _, u := range r.JSON200.Items {
			rows = append(rows, []string{u.Id, string(u.Email), u.Name, fmt.Sprint(u.Admin), u.CreatedAt.Format(time.RFC3339)})
		}
		return r.JSON200.Items, rows, nil
	}, "ID", "EMAIL", "NAME", "ADMIN", "CREATED")
	cmd.AddCommand(create, list)
	cmd.AddCommand(userLifecycleCmds()...)
	return cmd
}

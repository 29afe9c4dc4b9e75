package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/client"
)

// userLifecycleCmds are the admin's commands that change existing users.
func userLifecycleCmds() []*cobra.Command {
	disable := eachUserCmd("disable USER...", "Disable users: their keys stop working and their sessions end at once",
		func(ctx context.Context, c *apiClient, id string) error {
			r, err := c.DisableUserWithResponse(ctx, id)
			return c.check(err, r)
		})
	enable := eachUserCmd("enable USER...", "Enable disabled users", func(ctx context.Context, c *apiClient, id string) error {
		r, err := c.EnableUserWithResponse(ctx, id)
		return c.check(err, r)
	})
	var force bool
	del := eachUserCmd("delete USER...", "Delete users with their keys (--force: and their sandboxes)",
		func(ctx context.Context, c *apiClient, id string) error {
			r, err := c.DeleteUserWithResponse(ctx, id, &client.DeleteUserParams{Force: &force})
			if err := c.check(err, r); err != nil {
				return err
			}
			if r.StatusCode() == http.StatusAccepted {
				fmt.Fprintf(os.Stderr, "%s is disabled; it is removed once the runners have deleted its sandboxes\n", id)
			}
			return nil
		})
	del.Flags().BoolVar(&force, "force", false, "also delete the user's sandboxes (otherwise a user with sandboxes is refused)")
	return []*cobra.Command{disable, enable, del, newQuotaCmd()}
}

// eachUserCmd builds a command that applies fn to each user named (by id
// or email), going on past failures.
func eachUserCmd(use, short string, fn func(context.Context, *apiClient, string) error) *cobra.Command {
	return deleteCmd(use, short, func(cmd *cobra.Command, c *apiClient, ref string) error {
		id, err := resolveUser(cmd.Context(), c, ref)
		if err != nil {
			return err
		}
		return fn(cmd.Context(), c, id)
	})
}

// resolveUser turns an email into a user id; anything else is an id.
func resolveUser(ctx context.Context, c *apiClient, ref string) (string, error) {
	if !strings.Contains(ref, "@") {
		return ref, nil
	}
	params := &client.ListUsersParams{}
	for {
		r, err := c.ListUsersWithResponse(ctx, params)
		if err := c.check(err, r); err != nil {
			return "", err
		}
		for _, u := range r.JSON200.Items {
			if strings.EqualFold(string(u.Email), ref) {
				return u.Id, nil
			}
		}
		if r.JSON200.NextCursor == "" {
			return "", fmt.Errorf("no user has the email %s", ref)
		}
		params.Cursor = &r.JSON200.NextCursor
	}
}

func newQuotaCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "quota", Short: "Show and set quotas"}
	var sandboxes, execs, tunnels int64
	var cpu float64
	var memory string
	set := &cobra.Command{
		Use:   "set USER",
		Short: "Override the server's quota for one user (admin)",
		Long: `Override the server's quota for one user. Only the flags given change;
0 lifts a limit and "default" (or -1) goes back to the server's value.

  codepod user quota set ada@example.com --sandboxes 20 --cpu 8 --memory 16g`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			id, err := resolveUser(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			q, err := quotaFromFlags(cmd, sandboxes, cpu, memory, execs, tunnels)
			if err != nil {
				return err
			}
			r, err := c.UpdateUserWithResponse(cmd.Context(), id, client.UpdateUserRequest{Quota: q})
			if err := c.check(err, r); err != nil {
				return err
			}
			return writeJSON(cmd.OutOrStdout(), r.JSON200)
		},
	}
	fs := set.Flags()
	fs.Int64Var(&sandboxes, "sandboxes", 0, "most sandboxes (-1: server default)")
	fs.Float64Var(&cpu, "cpu", 0, "most CPUs over all sandboxes (-1: server default)")
	fs.StringVar(&memory, "memory", "", `most memory over all sandboxes, e.g. 4g ("default": server default)`)
	fs.Int64Var(&execs, "execs", 0, "most concurrent execs (-1: server default)")
	fs.Int64Var(&tunnels, "tunnels", 0, "most concurrent tunnels and terminals (-1: server default)")
	show := &cobra.Command{
		Use: "show", Short: "Show your quota and what you use", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.GetMeWithResponse(cmd.Context())
			if err := c.check(err, r); err != nil {
				return err
			}
			var me struct{ Quota, Usage codepod.QuotaUsage }
			if err := json.Unmarshal(r.Body, &me); err != nil {
				return err
			}
			limit := func(n float64, s string) string {
				if n == 0 {
					return "no limit"
				}
				return s
			}
			q, u := me.Quota, me.Usage
			rows := [][]string{
				{"sandboxes", fmt.Sprint(u.Sandboxes), limit(float64(q.Sandboxes), fmt.Sprint(q.Sandboxes))},
				{"cpu", fmt.Sprint(u.CPU), limit(q.CPU, fmt.Sprint(q.CPU))},
				{"memory", codepod.FormatBytes(u.MemoryBytes), limit(float64(q.MemoryBytes), codepod.FormatBytes(q.MemoryBytes))},
				{"execs", fmt.Sprint(u.Execs), limit(float64(q.Execs), fmt.Sprint(q.Execs))},
				{"tunnels", fmt.Sprint(u.Tunnels), limit(float64(q.Tunnels), fmt.Sprint(q.Tunnels))},
			}
			return table(cmd.OutOrStdout(), []string{"RESOURCE", "IN USE", "LIMIT"}, rows)
		},
	}
	cmd.AddCommand(set, show)
	return cmd
}

// quotaFromFlags is the override the flags that were given ask for.
func quotaFromFlags(cmd *cobra.Command, sandboxes int64, cpu float64, memory string, execs, tunnels int64) (*client.QuotaOverride, error) {
	q := &client.QuotaOverride{}
	changed := cmd.Flags().Changed
	if changed("sandboxes") {
		q.Sandboxes = &sandboxes
	}
	if changed("cpu") {
		q.Cpu = &cpu
	}
	if changed("execs") {
		q.Execs = &execs
	}
	if changed("tunnels") {
		q.Tunnels = &tunnels
	}
	if changed("memory") {
		var n int64 = -1
		if memory != "default" && memory != "-1" {
			var err error
			if memory == "0" {
				n = 0
			} else if n, err = codepod.ParseBytes(memory); err != nil {
				return nil, fmt.Errorf("--memory: %w", err)
			}
		}
		q.MemoryBytes = &n
	}
	if *q == (client.QuotaOverride{}) {
		return nil, fmt.Errorf("give at least one of --sandboxes, --cpu, --memory, --execs, --tunnels")
	}
	return q, nil
}

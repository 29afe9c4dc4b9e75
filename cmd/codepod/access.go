package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/codepod-dev/codepod/client"
)

// userCommands are the commands that talk to a server as a user.
func userCommands() []*cobra.Command {
	return []*cobra.Command{newSandboxCmd(), newConfigCmd(), newLoginCmd(), newAPIKeyCmd(),
		newRunnerTokenCmd(), newUserCmd(), newSSHProxyCmd(), newSSHConfigCmd(), newShellCmd(), newWebhookCmd(), newWorkspaceCmd(), newAuditCmd()}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timeOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func newLoginCmd() *cobra.Command {
	var email, server string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with email and password; stores an API key in the config file",
		Long: `Log in with email and password. The password is read from the terminal, or
from standard input when it is not a terminal (echo "$PW" | codepod login …).
The server answers with an API key valid for 30 days, stored as API_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if server != "" {
				cfg["SERVER_URL"] = server
				os.Setenv("CODEPOD_SERVER_URL", server)
			}
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			c, err := newAPIClient(false)
			if err != nil {
				return err
			}
			r, err := c.LoginWithResponse(cmd.Context(), client.LoginRequest{Email: email, Password: pw})
			if err := c.check(err, r); err != nil {
				return err
			}
			cfg["API_KEY"] = r.JSON200.Token
			if err := cfg.save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Logged in as %s; the key is stored in the config file.\n", r.JSON200.User.Email)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "your email")
	cmd.Flags().StringVar(&server, "server", "", "server URL to log in to (saved as SERVER_URL)")
	cmd.MarkFlagRequired("email")
	return cmd
}

func readPassword(cmd *cobra.Command) (string, error) {
	if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(b), err
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", fmt.Errorf("no password on standard input: %v", err)
	}
	return line, nil
}

func newAPIKeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "api-key", Short: "Manage your API keys"}
	var name, expires string
	out := outputFormat("table")
	create := &cobra.Command{
		Use: "create", Short: "Create an API key (shown once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.CreateApiKeyWithResponse(cmd.Context(), client.CreateAPIKeyRequest{Name: name, ExpiresIn: optString(expires)})
			if err := c.check(err, r); err != nil {
				return err
			}
			if ok, err := out.write(cmd.OutOrStdout(), r.JSON201); ok {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r.JSON201.Key)
			fmt.Fprintln(cmd.ErrOrStderr(), "Keep this key safe: it is not shown again.")
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "cli", "a name to recognise the key by")
	create.Flags().StringVar(&expires, "expires-in", "", "lifetime, e.g. 720h (default: never expires)")
	create.Flags().VarP(&out, "output", "o", "output format: table (the key), json or yaml")
	var user string
	list := listCmd("list", "List your API keys (prefixes only; admins: --user)", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		params := &client.ListApiKeysParams{}
		if user != "" {
			id := user
			if user != "all" {
				var err error
				if id, err = resolveUser(cmd.Context(), c, user); err != nil {
					return nil, nil, err
				}
			}
			params.User = &id
		}
		r, err := c.ListApiKeysWithResponse(cmd.Context(), params)
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		var rows [][]string
		for _, k := range r.JSON200.Items {
			rows = append(rows, []string{k.Id, k.UserId, k.Name, k.Prefix, k.CreatedAt.Format(time.RFC3339), timeOrNever(k.ExpiresAt)})
		}
		return r.JSON200.Items, rows, nil
	}, "ID", "USER", "NAME", "PREFIX", "CREATED", "EXPIRES")
	list.Flags().StringVar(&user, "user", "", `admins: list this user's keys (id or email; "all": everyone's)`)
	del := deleteCmd("delete ID...", "Revoke API keys (admins: anyone's); sessions opened with them end", func(cmd *cobra.Command, c *apiClient, id string) error {
		r, err := c.DeleteApiKeyWithResponse(cmd.Context(), id)
		return c.check(err, r)
	})
	cmd.AddCommand(create, list, del)
	return cmd
}

// listCmd builds a list command printing a table or, with -o json|yaml,
// the items; -q prints the first column (the ids) alone.
func listCmd(use, short string, fetch func(*cobra.Command, *apiClient) (any, [][]string, error), header ...string) *cobra.Command {
	out := outputFormat("table")
	quiet := false
	cmd := &cobra.Command{
		Use: use, Short: short, Aliases: []string{"ls"}, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			items, rows, err := fetch(cmd, c)
			if err != nil {
				return err
			}
			if ok, err := out.write(cmd.OutOrStdout(), items); ok {
				return err
			}
			if quiet {
				return firstColumn(cmd.OutOrStdout(), rows)
			}
			return table(cmd.OutOrStdout(), header, rows)
		},
	}
	cmd.Flags().VarP(&out, "output", "o", "output format: table, json or yaml")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the ids, one a line")
	return cmd
}

// deleteCmd builds a command that deletes each id given, going on past failures.
func deleteCmd(use, short string, del func(*cobra.Command, *apiClient, string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Aliases: []string{"rm"}, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			failed := 0
			for _, id := range args {
				if err := del(cmd, c, id); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Error: %s: %v\n", id, err)
					failed++
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
}

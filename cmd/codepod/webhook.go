package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// newWebhookCmd is `codepod webhook`: endpoints that receive signed events
// of the caller's sandboxes (docs/webhooks.md).
func newWebhookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Aliases: []string{"webhooks"}, Short: "Manage webhook endpoints: sandbox events POSTed to your URL, signed (Standard Webhooks)"}
	var desc string
	var events []string
	out := outputFormat("table")
	create := &cobra.Command{
		Use: "create URL", Short: "Add an endpoint (prints its signing secret, shown once)", Args: cobra.ExactArgs(1),
		Example: "  codepod webhook create https://ci.example.com/hooks --event sandbox.running --event sandbox.error",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			body := client.CreateWebhookRequest{Url: args[0], Description: optString(desc)}
			if len(events) > 0 {
				ev := splitList(events)
				body.Events = &ev
			}
			r, err := c.CreateWebhookWithResponse(cmd.Context(), body)
			if err := c.check(err, r); err != nil {
				return err
			}
			if ok, err := out.write(cmd.OutOrStdout(), r.JSON201); ok {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s\n", r.JSON201.Id, whStr(r.JSON201.Secret))
			fmt.Fprintln(cmd.ErrOrStderr(), "The second line is the signing secret: keep it for your receiver, it is not shown again.")
			return nil
		},
	}
	create.Flags().StringVar(&desc, "description", "", "what the endpoint is for")
	create.Flags().StringArrayVar(&events, "event", nil, "event type to receive (repeatable; default all): sandbox.created, sandbox.running, sandbox.stopped, sandbox.error, sandbox.lost, sandbox.deleted, runner.online, runner.offline (admins)")
	create.Flags().VarP(&out, "output", "o", "output format: table (id and secret), json or yaml")

	list := listCmd("list", "List your webhook endpoints", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		r, err := c.ListWebhooksWithResponse(cmd.Context())
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		var rows [][]string
		for _, w := range r.JSON200.Items {
			state := "enabled"
			if w.Disabled {
				state = "disabled: " + whStr(w.DisabledReason)
			}
			ev := strings.Join(w.Events, ",")
			if ev == "" {
				ev = "all"
			}
			rows = append(rows, []string{w.Id, w.Url, ev, state, strconv.FormatInt(w.FailureStreak, 10)})
		}
		return r.JSON200.Items, rows, nil
	}, "ID", "URL", "EVENTS", "STATE", "FAILURES")

	del := deleteCmd("delete ID...", "Delete webhook endpoints (and their delivery logs)", func(cmd *cobra.Command, c *apiClient, id string) error {
		r, err := c.DeleteWebhookWithResponse(cmd.Context(), id)
		return c.check(err, r)
	})

	setDisabled := func(use, short string, disabled bool) *cobra.Command {
		return &cobra.Command{Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newAPIClient(true)
				if err != nil {
					return err
				}
				r, err := c.UpdateWebhookWithResponse(cmd.Context(), args[0], client.UpdateWebhookRequest{Disabled: &disabled})
				return c.check(err, r)
			}}
	}

	var keepOld string
	rotate := &cobra.Command{
		Use: "rotate-secret ID", Short: "Give an endpoint a new secret (prints it; the old one signs too until --keep-old passed)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.RotateWebhookSecretWithResponse(cmd.Context(), args[0], &client.RotateWebhookSecretParams{KeepOld: &keepOld})
			if err := c.check(err, r); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), whStr(r.JSON200.Secret))
			if t := r.JSON200.PreviousSecretValidUntil; t != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "Messages carry both signatures until %s.\n", t.Format(time.RFC3339))
			}
			return nil
		},
	}
	rotate.Flags().StringVar(&keepOld, "keep-old", "24h", "how long the old secret still signs beside the new one")

	test := &cobra.Command{
		Use: "test ID", Short: "Send a webhook.test event to an endpoint", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.TestWebhookWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r.JSON202.EventId)
			fmt.Fprintf(cmd.ErrOrStderr(), "Queued; see it with: codepod webhook deliveries %s\n", args[0])
			return nil
		},
	}

	var hookID string
	deliveries := listCmd("deliveries ID", "Show an endpoint's delivery log (oldest first)", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		r, err := c.ListWebhookDeliveriesWithResponse(cmd.Context(), hookID, &client.ListWebhookDeliveriesParams{})
		if err := c.check(err, r); err != nil {
			return nil, nil, err
		}
		var rows [][]string
		for _, d := range r.JSON200.Items {
			next := ""
			if d.NextAttemptAt != nil {
				next = d.NextAttemptAt.Format(time.RFC3339)
			}
			rows = append(rows, []string{d.Id, d.EventType, string(d.Status), strconv.FormatInt(d.Attempts, 10),
				strconv.FormatInt(d.LastStatus, 10), fmt.Sprintf("%.1fms", d.LastLatencyMs), next, whStr(d.LastError)})
		}
		return r.JSON200.Items, rows, nil
	}, "ID", "EVENT", "STATUS", "ATTEMPTS", "HTTP", "LATENCY", "NEXT", "ERROR")
	deliveries.Args = cobra.ExactArgs(1)
	deliveries.PreRun = func(_ *cobra.Command, args []string) { hookID = args[0] }

	redeliver := &cobra.Command{
		Use: "redeliver ID DELIVERY", Short: "Deliver an event again (same webhook-id)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.RedeliverWebhookWithResponse(cmd.Context(), args[0], args[1])
			return c.check(err, r)
		},
	}
	cmd.AddCommand(create, list, del, rotate, test, deliveries, redeliver,
		setDisabled("disable", "Stop sending events to an endpoint", true),
		setDisabled("enable", "Send events to an endpoint again (its failure count starts over)", false))
	return cmd
}

func whStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

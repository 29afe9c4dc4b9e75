package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/client"
)

// auditFilters are the filters of `codepod audit list` and `export`.
type auditFilters struct{ since, until, actor, action, workspace, target string }

func (f *auditFilters) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.since, "since", "", "entries at or after this time: RFC 3339 or a duration back from now (1h, 30m)")
	fs.StringVar(&f.until, "until", "", "entries before this time: RFC 3339 or a duration back from now")
	fs.StringVar(&f.actor, "actor", "", "only this user's entries (a user id)")
	fs.StringVar(&f.action, "action", "", "only this action (sandbox.create, sandbox.exec, apikey.revoke, ssh.tunnel, file.write, terminal.open, …)")
	fs.StringVar(&f.workspace, "workspace", "", "only this workspace's entries")
	fs.StringVar(&f.target, "target", "", "only entries on this target: an id, or TYPE:ID (sandbox:sb_…)")
}

// newAuditCmd is `codepod audit` (docs/audit.md).
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read, export and verify the audit log (admins)"}

	var lf auditFilters
	limit := 100
	list := listCmd("list", "List audit log entries, oldest first", func(cmd *cobra.Command, c *apiClient) (any, [][]string, error) {
		var items []client.AuditEvent
		cursor := ""
		for len(items) < limit {
			n := int64(min(500, limit-len(items)))
			p := &client.ListAuditParams{Since: optString(lf.since), Until: optString(lf.until), Actor: optString(lf.actor),
				Action: optString(lf.action), Workspace: optString(lf.workspace), Target: optString(lf.target),
				Cursor: optString(cursor), Limit: &n}
			r, err := c.ListAuditWithResponse(cmd.Context(), p)
			if err := c.check(err, r); err != nil {
				return nil, nil, err
			}
			items = append(items, r.JSON200.Items...)
			if cursor = r.JSON200.NextCursor; cursor == "" {
				break
			}
		}
		var rows [][]string
		for _, e := range items {
			target := e.TargetId
			if e.TargetType != "" {
				target = e.TargetType + ":" + e.TargetId
			}
			rows = append(rows, []string{strconv.FormatInt(e.Seq, 10), e.Time.Local().Format("2006-01-02 15:04:05"),
				e.ActorUserId, e.Action, target, e.Outcome, e.ClientAddr})
		}
		return items, rows, nil
	}, "SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "CLIENT")
	lf.register(list)
	list.Flags().IntVar(&limit, "limit", limit, "most entries to show")
	list.Example = "  codepod audit list --since 1h --action sandbox.exec\n  codepod audit list --actor usr_… -o json"

	var ef auditFilters
	export := &cobra.Command{
		Use: "export", Short: "Write the audit log as JSON lines to standard output", Args: cobra.NoArgs,
		Example: "  codepod audit export > audit.jsonl\n  codepod audit verify --file audit.jsonl",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			res, err := c.ExportAudit(cmd.Context(), &client.ExportAuditParams{Since: optString(ef.since), Until: optString(ef.until),
				Actor: optString(ef.actor), Action: optString(ef.action), Workspace: optString(ef.workspace), Target: optString(ef.target)})
			if err != nil {
				return fmt.Errorf("cannot reach the CodePod server at %s: %w", c.ServerURL, err)
			}
			defer res.Body.Close()
			if res.StatusCode >= 300 {
				body, _ := io.ReadAll(res.Body)
				return problemError(res.StatusCode, body)
			}
			_, err = io.Copy(cmd.OutOrStdout(), res.Body)
			return err
		},
	}
	ef.register(export)

	var file string
	verify := &cobra.Command{
		Use: "verify", Short: "Recompute the audit log's hash chain; report the first entry edited or deleted", Args: cobra.NoArgs,
		Long: "Asks the server to recompute every entry's hash from the chain's anchor to its head, and fails naming the first seq that does not fit " +
			"(an edited row, a deleted row). With --file, checks an export instead, here (its entries must chain to each other).",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				return verifyAuditFile(cmd, file)
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.VerifyAuditWithResponse(cmd.Context())
			if err := c.check(err, r); err != nil {
				return err
			}
			v := r.JSON200
			if !v.Ok {
				return fmt.Errorf("the audit log is broken at entry %d: %s", derefInt(v.FirstBad), derefStr(v.Problem))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit log intact: %d entries verified (entries %d to %d)\n", v.Checked, v.AnchorSeq+1, v.Head)
			return nil
		},
	}
	verify.Flags().StringVar(&file, "file", "", "verify this export (codepod audit export > FILE) instead of the server's log")

	cmd.AddCommand(list, export, verify)
	return cmd
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// verifyAuditFile checks that the entries of an export chain: each one's
// hash matches its fields, and each links to the one before.
func verifyAuditFile(cmd *cobra.Command, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var v *codepod.AuditVerifier
	line := 0
	for sc.Scan() {
		line++
		var e struct {
			codepod.AuditEvent
			Detail json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("%s:%d: not an audit entry: %w", path, line, err)
		}
		e.AuditEvent.Detail = string(e.Detail)
		if v == nil { // an export starts anywhere: anchor at its first entry's predecessor
			v = codepod.NewAuditVerifier(codepod.AuditHead{AnchorSeq: e.Seq - 1, AnchorHash: e.PrevHash})
		}
		if !v.Add(&e.AuditEvent) {
			return fmt.Errorf("%s: broken at entry %d: %s", path, v.Bad, v.Problem)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if v == nil {
		return errors.New(path + " holds no entries")
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %d entries chain intact\n", path, v.Checked())
	return nil
}

package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// The audit log (docs/audit.md). Every state-changing operation (POST,
// PUT, PATCH, DELETE) and every session opened into a sandbox (the
// WebSocket GETs) carries a pending entry in its request context; the store
// writes it in the first transaction that commits for the request, so the
// entry and the change commit together or not at all. An operation that
// changes nothing in the store (an exec, a file write, a session) gets its
// entry written after it succeeded (sessions: when the WebSocket is
// accepted). A request that fails leaves no entry.

// auditAction is how an operation appears in the audit log: the action and
// the type of the target its {id} names.
type auditAction struct{ action, target string }

// auditActions names the audited operations. A state-changing operation
// missing here is still recorded, under its operation id.
var auditActions = map[string]auditAction{
	"create-sandbox":             {"sandbox.create", "sandbox"},
	"delete-sandbox":             {"sandbox.delete", "sandbox"},
	"update-sandbox":             {"sandbox.update", "sandbox"},
	"start-sandbox":              {"sandbox.start", "sandbox"},
	"stop-sandbox":               {"sandbox.stop", "sandbox"},
	"set-sandbox-network-policy": {"sandbox.network_policy", "sandbox"},
	"create-ssh-token":           {"sandbox.ssh_token", "sandbox"},
	"exec-sandbox":               {"sandbox.exec", "sandbox"},
	"exec-sandbox-stream":        {"sandbox.exec", "sandbox"},
	"open-terminal":              {"terminal.open", "sandbox"},
	"open-tunnel":                {"ssh.tunnel", "sandbox"},
	"upload-file":                {"file.write", "sandbox"},
	"upload-archive":             {"file.write_archive", "sandbox"},
	"delete-file":                {"file.delete", "sandbox"},
	"make-directory":             {"file.mkdir", "sandbox"},
	"start-process":              {"process.start", "sandbox"},
	"kill-process":               {"process.kill", "sandbox"},
	"signal-process":             {"process.signal", "sandbox"},
	"stdin-process":              {"process.stdin", "sandbox"},
	"stream-process":             {"process.attach", "sandbox"},
	"create-code-context":        {"code.context_create", "sandbox"},
	"delete-code-context":        {"code.context_delete", "sandbox"},
	"restart-code-context":       {"code.context_restart", "sandbox"},
	"run-code":                   {"code.run", "sandbox"},
	"open-port":                  {"port.open", "sandbox"},
	"close-port":                 {"port.close", "sandbox"},
	"create-preview-url":         {"preview_url.create", "sandbox"},
	"upload-blob":                {"blob.upload", "blob"},
	"create-api-key":             {"apikey.create", "apikey"},
	"delete-api-key":             {"apikey.revoke", "apikey"},
	"create-ssh-key":             {"sshkey.create", "sshkey"},
	"delete-ssh-key":             {"sshkey.delete", "sshkey"},
	"create-webhook":             {"webhook.create", "webhook"},
	"update-webhook":             {"webhook.update", "webhook"},
	"delete-webhook":             {"webhook.delete", "webhook"},
	"rotate-webhook-secret":      {"webhook.rotate_secret", "webhook"},
	"test-webhook":               {"webhook.test", "webhook"},
	"redeliver-webhook":          {"webhook.redeliver", "webhook"},
	"create-user":                {"user.create", "user"},
	"update-user":                {"user.update", "user"},
	"delete-user":                {"user.delete", "user"},
	"disable-user":               {"user.disable", "user"},
	"enable-user":                {"user.enable", "user"},
	"create-runner-token":        {"runner_token.create", "runner_token"},
	"delete-runner-token":        {"runner_token.delete", "runner_token"},
	"delete-runner":              {"runner.delete", "runner"},
	"register-runner":            {"runner.register", "runner"},
	"login":                      {"auth.login", "apikey"},
	"create-session":             {"auth.session_create", "apikey"},
	"delete-session":             {"auth.session_delete", "apikey"},
	"create-workspace":           {"workspace.create", "workspace"},
	"delete-workspace":           {"workspace.delete", "workspace"},
	"add-workspace-member":       {"workspace.member_add", "workspace"},
	"update-workspace-member":    {"workspace.member_update", "workspace"},
	"remove-workspace-member":    {"workspace.member_remove", "workspace"},
	"set-runner-workspaces":      {"runner.set_workspaces", "runner"},
	"upgrade-sandbox-agent":      {"sandbox.agent_upgrade", "sandbox"},
}

// auditSkipped are operations that use a changing method but change
// nothing a user did: runners' own traffic (polls, job reports), waiting,
// and verifying the log itself.
var auditSkipped = map[string]bool{
	"poll-jobs": true, "report-job-progress": true, "report-job-result": true, "report-sandbox-state": true,
	"wait-process": true, "verify-audit": true,
}

// auditedOp returns how op is audited; false when it is not.
func auditedOp(op *huma.Operation) (auditAction, bool) {
	if auditSkipped[op.OperationID] {
		return auditAction{}, false
	}
	a, named := auditActions[op.OperationID]
	switch op.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if !named {
			a = auditAction{action: op.OperationID}
		}
		return a, true
	}
	return a, named // the session-opening GETs are named
}

// auditWorkspace is the workspace an audited request acts in: the
// caller's (a runner's requests belong to none).
func auditWorkspace(ctx context.Context) string {
	if u := caller(ctx); u != nil {
		return u.WorkspaceOf()
	}
	return ""
}

type auditFlushKey struct{}

// auditMiddleware gives audited operations their pending entry and writes
// it after a successful operation that wrote nothing in the store.
func (s *Server) auditMiddleware(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		op := hctx.Operation()
		a, ok := auditedOp(op)
		if !ok {
			next(hctx)
			return
		}
		ctx := hctx.Context()
		e := codepod.AuditEvent{Action: a.action, TargetType: a.target, WorkspaceID: auditWorkspace(ctx),
			ActorKeyID: callerKeyID(ctx)}
		if u := caller(ctx); u != nil {
			e.ActorUserID = u.ID
		}
		if r := callerRunner(ctx); r != nil {
			e.ActorUserID = "runner:" + r.ID
		}
		if ri := requestInfo(ctx); ri != nil {
			e.ClientAddr, e.RequestID = ri.remote, ri.id
		}
		if a.target != "" {
			e.TargetID = hctx.Param("id")
		}
		e.Detail = auditDetail(hctx)
		p := codepod.NewPendingAudit(e)
		flush := func() { s.flushAudit(ctx, p) }
		ctx = context.WithValue(codepod.WithPendingAudit(ctx, p), auditFlushKey{}, flush)
		next(huma.WithContext(hctx, ctx))
		if st := hctx.Status(); st > 0 && st < 400 {
			flush()
		} else {
			p.Discard() // a failed request records nothing, even from work it left running
		}
	}
}

// flushAudit writes p in a transaction of its own if nothing wrote it yet.
func (s *Server) flushAudit(ctx context.Context, p *codepod.PendingAudit) {
	if p.Written() {
		return
	}
	if err := s.st.FlushAudit(context.WithoutCancel(ctx), p); err != nil {
		e := p.Event()
		logger(ctx).Error("write audit entry", "action", e.Action, "target", e.TargetID, "err", err)
	}
}

// auditSessionOpened writes the pending entry of a session operation as its
// WebSocket is accepted (the handler runs until the session ends).
func auditSessionOpened(ctx context.Context) {
	if f, ok := ctx.Value(auditFlushKey{}).(func()); ok {
		f()
	}
}

// auditAhead writes a request's pending entry while the operation goes on
// (see auditStarted); the zero value and a request without one do nothing.
type auditAhead struct {
	flush func()
	once  sync.Once
	done  chan struct{} // set by the first of start and wait
}

// auditStarted is the pending entry of an operation that records a command
// once it started: start writes it in the background, in a transaction of
// its own, while the command runs (the REST exec: start is called when the
// exec request went out to the agent); wait returns when that write is
// done, and stops a later start. The operation calls wait before it
// answers, so the entry is in the log when the answer arrives, and its
// write costs the answer nothing unless the command ends sooner. A command
// that started is recorded even if the call then fails (the connection to
// the agent lost, the caller gone): it ran. One refused before it started
// leaves no entry.
func auditStarted(ctx context.Context) *auditAhead {
	f, _ := ctx.Value(auditFlushKey{}).(func())
	return &auditAhead{flush: f}
}

func (a *auditAhead) start() {
	a.once.Do(func() {
		a.done = make(chan struct{})
		go func() {
			defer close(a.done)
			if a.flush != nil {
				a.flush()
			}
		}()
	})
}

func (a *auditAhead) wait() {
	a.once.Do(func() {}) // a start after this does nothing
	if a.done != nil {
		<-a.done
	}
}

// auditDetail is what else identifies the target: the other path
// parameters and a file operation's path.
func auditDetail(hctx huma.Context) string {
	d := map[string]string{}
	op := hctx.Operation()
	for _, name := range []string{"pid", "port", "context_id", "delivery", "digest"} {
		if strings.Contains(op.Path, "{"+name+"}") {
			d[name] = hctx.Param(name)
		}
	}
	if len(op.Tags) > 0 && op.Tags[0] == "files" {
		if p := hctx.Query("path"); p != "" {
			d["path"] = p
		}
	}
	if len(d) == 0 {
		return ""
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// AuditEvent is one entry of the audit log as the API shows it.
type AuditEvent struct {
	Seq         int64           `json:"seq" doc:"Position in the chain, from 1, without gaps."`
	Time        time.Time       `json:"time"`
	ActorUserID string          `json:"actor_user_id" doc:"The user who acted (runner:ID for a runner); empty for an unauthenticated call."`
	ActorKeyID  string          `json:"actor_key_id" doc:"The API key (or web session) the actor used."`
	WorkspaceID string          `json:"workspace_id"`
	ClientAddr  string          `json:"client_addr"`
	RequestID   string          `json:"request_id" doc:"The request's X-Request-Id (also in the server log)."`
	Action      string          `json:"action" doc:"What was done, e.g. sandbox.create, sandbox.exec, apikey.revoke, ssh.tunnel, file.write, terminal.open."`
	TargetType  string          `json:"target_type"`
	TargetID    string          `json:"target_id"`
	Outcome     string          `json:"outcome" doc:"ok: only changes that happened are recorded."`
	Detail      json.RawMessage `json:"detail,omitempty" doc:"Other parameters of the target (a path, a port, a pid)."`
	PrevHash    string          `json:"prev_hash" doc:"Hash of the previous entry."`
	Hash        string          `json:"hash" doc:"SHA-256 over prev_hash and this entry's fields (docs/audit.md)."`
}

func newAuditEvent(e *codepod.AuditEvent) AuditEvent {
	out := AuditEvent{Seq: e.Seq, Time: e.Time, ActorUserID: e.ActorUserID, ActorKeyID: e.ActorKeyID,
		WorkspaceID: e.WorkspaceID, ClientAddr: e.ClientAddr, RequestID: e.RequestID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Outcome: e.Outcome, PrevHash: e.PrevHash, Hash: e.Hash}
	if e.Detail != "" {
		out.Detail = json.RawMessage(e.Detail)
	}
	return out
}

// AuditFilterParams are the filters of the audit list and export.
type AuditFilterParams struct {
	Since     string `query:"since" doc:"Entries at or after this time: RFC 3339, or a Go duration back from now (1h, 30m)."`
	Until     string `query:"until" doc:"Entries before this time: RFC 3339, or a duration back from now."`
	Actor     string `query:"actor" maxLength:"200" doc:"Only this user's entries (a user id)."`
	Action    string `query:"action" maxLength:"100" doc:"Only this action, e.g. sandbox.create."`
	Workspace string `query:"workspace" maxLength:"200" doc:"Only this workspace's entries."`
	Target    string `query:"target" maxLength:"300" doc:"Only entries on this target: an id, or TYPE:ID (sandbox:sb_…)."`
}

type listAuditInput struct {
	AuditFilterParams
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page; empty for the first page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Most entries to return."`
}

type listAuditOutput struct{ Body *List[AuditEvent] }

// AuditVerification is the result of recomputing the chain.
type AuditVerification struct {
	OK        bool   `json:"ok" doc:"The chain is intact from its anchor to its head."`
	Checked   int    `json:"checked" doc:"How many entries verified."`
	Head      int64  `json:"head" doc:"Seq of the last entry."`
	AnchorSeq int64  `json:"anchor_seq" doc:"Seq of the last entry retention deleted (0: none); verification starts after it."`
	FirstBad  int64  `json:"first_bad,omitempty" doc:"Seq of the first entry that does not fit (edited, deleted or replaced)."`
	Problem   string `json:"problem,omitempty" doc:"What is wrong at first_bad."`
}

type verifyAuditOutput struct{ Body AuditVerification }

func registerAudit(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodGet, "/audit", "list-audit", "audit", "List audit log entries", http.StatusForbidden)
	register(api, s, describe(op, "Entries oldest first. Server admins see every entry, workspace owners and admins their workspace's; others get 403."), s.listAudit)

	op = s.operation(userOnly, http.MethodGet, "/audit/export", "export-audit", "audit", "Export the audit log as JSON lines", http.StatusForbidden)
	op.Responses = map[string]*huma.Response{"200": {Description: "One AuditEvent per line (application/jsonl).",
		Content: map[string]*huma.MediaType{"application/jsonl": {Schema: &huma.Schema{Type: "string"}}}}}
	register(api, s, describe(op, "Streams every entry the filters match, oldest first, one JSON object per line."), s.exportAudit)

	op = s.operation(userOnly, http.MethodPost, "/audit/verify", "verify-audit", "audit", "Verify the audit log's hash chain", http.StatusForbidden)
	register(api, s, describe(op, "Server admins only. Recomputes every entry's hash from the anchor to the head: an edited, deleted or inserted row is reported with the first seq that does not fit."),
		func(ctx context.Context, _ *struct{}) (*verifyAuditOutput, error) {
			if u := caller(ctx); u == nil || !u.Admin { // the chain spans every workspace
				return nil, codepod.Errorf(codepod.EFORBIDDEN, "verifying the audit log is for server admins (the chain spans every workspace)")
			}
			v, err := codepod.VerifyAudit(ctx, s.st)
			if err != nil {
				return nil, err
			}
			h, err := s.st.AuditHead(ctx)
			if err != nil {
				return nil, err
			}
			return &verifyAuditOutput{Body: AuditVerification{OK: v.Bad == 0, Checked: v.Checked(), Head: h.Seq,
				AnchorSeq: h.AnchorSeq, FirstBad: v.Bad, Problem: v.Problem}}, nil
		})
}

// auditScope returns the workspace filter the caller may read: any (the
// one asked) for a server admin; the workspace it acts in for an owner or
// admin of that workspace, whatever it asked.
func auditScope(ctx context.Context, asked string) (string, error) {
	u := caller(ctx)
	switch {
	case u != nil && u.Admin:
		return asked, nil
	case u != nil && u.Role.CanManage():
		if asked != "" && asked != u.WorkspaceOf() {
			return "", codepod.Errorf(codepod.EFORBIDDEN, "workspace admins read their own workspace's audit log; workspace %q is not the one this request acts in (%s)", asked, u.WorkspaceOf())
		}
		return u.WorkspaceOf(), nil
	}
	return "", codepod.Errorf(codepod.EFORBIDDEN, "the audit log is for server admins and workspace owners and admins; your role in this workspace is %s", roleName(u))
}

func roleName(u *codepod.User) string {
	if u == nil || u.Role == "" {
		return "none"
	}
	return string(u.Role)
}

func (s *Server) auditFilter(ctx context.Context, in AuditFilterParams) (codepod.AuditFilter, error) {
	ws, err := auditScope(ctx, in.Workspace)
	if err != nil {
		return codepod.AuditFilter{}, err
	}
	f := codepod.AuditFilter{ActorUserID: in.Actor, Action: in.Action, WorkspaceID: ws}
	if f.Since, err = s.auditTime("since", in.Since); err != nil {
		return f, err
	}
	if f.Until, err = s.auditTime("until", in.Until); err != nil {
		return f, err
	}
	if typ, id, ok := strings.Cut(in.Target, ":"); ok {
		f.TargetType, f.TargetID = typ, id
	} else {
		f.TargetID = in.Target
	}
	return f, nil
}

// auditTime parses an RFC 3339 time or a duration back from now.
func (s *Server) auditTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return s.now().Add(-d), nil
	}
	return time.Time{}, codepod.Errorf(codepod.EINVALID, "%s=%q is neither an RFC 3339 time (2026-11-30T12:00:00Z) nor a duration back from now (1h, 30m)", name, v)
}

func (s *Server) listAudit(ctx context.Context, in *listAuditInput) (*listAuditOutput, error) {
	f, err := s.auditFilter(ctx, in.AuditFilterParams)
	if err != nil {
		return nil, err
	}
	if in.Cursor != "" {
		c, err := strconv.ParseInt(in.Cursor, 10, 64)
		if err != nil || c < 0 {
			return nil, codepod.Errorf(codepod.EINVALID, "cursor %q is not valid: pass the next_cursor of the previous page", in.Cursor)
		}
		f.AfterSeq = c
	}
	f.Limit = in.Limit
	es, next, err := s.st.ListAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	cur := ""
	if next != 0 {
		cur = strconv.FormatInt(next, 10)
	}
	return &listAuditOutput{Body: newList(es, cur, newAuditEvent)}, nil
}

func (s *Server) exportAudit(ctx context.Context, in *AuditFilterParams) (*huma.StreamResponse, error) {
	f, err := s.auditFilter(ctx, *in)
	if err != nil {
		return nil, err
	}
	clearWriteDeadline(ctx)
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "application/jsonl")
		hctx.SetStatus(http.StatusOK)
		w := hctx.BodyWriter()
		enc := json.NewEncoder(w)
		f.Limit = 500
		for {
			es, next, err := s.st.ListAudit(ctx, f)
			if err != nil {
				logger(ctx).Error("export audit log", "err", err)
				return // the client sees the stream cut short
			}
			for i := range es {
				if enc.Encode(newAuditEvent(&es[i])) != nil {
					return
				}
			}
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			if next == 0 {
				return
			}
			f.AfterSeq = next
		}
	}}, nil
}

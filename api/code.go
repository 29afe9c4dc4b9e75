package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/agent/kernel"
	"github.com/codepod-dev/codepod/gateway"
)

// CodeContext is a persistent interpreter in a sandbox.
type CodeContext struct {
	ID             string    `json:"id" doc:"The context's id; default contexts are default-<language>."`
	Language       string    `json:"language" enum:"python,javascript,bash"`
	Cwd            string    `json:"cwd" doc:"The interpreter's working directory."`
	Created        time.Time `json:"created"`
	LastUsed       time.Time `json:"last_used"`
	ExecutionCount int       `json:"execution_count" doc:"Cells run since the interpreter started."`
}

// CodeContextList is a sandbox's contexts, oldest first.
type CodeContextList struct {
	Contexts []CodeContext `json:"contexts"`
}

// CreateCodeContextRequest names the language of a new context.
type CreateCodeContextRequest struct {
	Language string `json:"language" enum:"python,javascript,bash" doc:"python (python3), javascript (node) or bash."`
}

// CodeRunRequest is one cell.
type CodeRunRequest struct {
	Code           string `json:"code" maxLength:"1048576" doc:"The cell's source."`
	Language       string `json:"language,omitempty" enum:"python,javascript,bash" doc:"Required without context: the cell then runs in the sandbox's default context for the language (default-python …). With context, it must match the context's language if given."`
	Context        string `json:"context,omitempty" maxLength:"100" doc:"A context's id (create-code-context)."`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" minimum:"1" maximum:"3600" doc:"The cell is interrupted after this many seconds (default 60): SIGINT, a KeyboardInterrupt in Python; the context keeps its state. An interpreter that does not stop within 5 s is restarted (restarted: true)."`
	MaxOutputBytes int    `json:"max_output_bytes,omitempty" minimum:"1" maximum:"4194304" doc:"Most bytes kept of stdout and of stderr (default 1 MiB); the rest is dropped and *_truncated set."`
}

// CodeError is an exception a cell raised.
type CodeError struct {
	Name      string   `json:"name" doc:"The exception's class: ValueError, TypeError, KeyboardInterrupt …"`
	Value     string   `json:"value" doc:"Its message."`
	Traceback []string `json:"traceback" doc:"The formatted traceback, in lines or chunks as the interpreter gives them."`
}

// CodeRunResult is what a cell did.
type CodeRunResult struct {
	Context         string              `json:"context" doc:"The context that ran the cell."`
	ExecutionCount  int                 `json:"execution_count"`
	Stdout          string              `json:"stdout"`
	Stderr          string              `json:"stderr"`
	StdoutTruncated bool                `json:"stdout_truncated"`
	StderrTruncated bool                `json:"stderr_truncated"`
	Results         []map[string]string `json:"results" doc:"Rich results in order (display() calls, then the last expression's value), each a map of MIME type to data: text/plain, text/html, image/png (base64), application/json (as text) …"`
	Error           *CodeError          `json:"error,omitempty" doc:"Set when the cell raised an exception (or was interrupted)."`
	ExitCode        *int                `json:"exit_code,omitempty" doc:"A bash cell's exit status."`
	Interrupted     bool                `json:"interrupted" doc:"The timeout interrupted the cell."`
	Restarted       bool                `json:"restarted" doc:"The interpreter had died or ignored the interrupt and was started again: the context's state is lost."`
	DurationMS      int64               `json:"duration_ms"`
}

type codeContextsInput struct {
	ID string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
}

type codeContextInput struct {
	ID      string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Context string `path:"context_id" maxLength:"100" doc:"The context's id."`
}

type createCodeContextInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body CreateCodeContextRequest
}

type runCodeInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body CodeRunRequest
}

type codeContextOutput struct{ Body CodeContext }
type codeContextListOutput struct{ Body CodeContextList }
type runCodeOutput struct{ Body CodeRunResult }

func registerCode(api huma.API, s *Server) {
	errs := []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	op := s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/code/run", "run-code", "code", "Run code in a context", errs...)
	op.MaxBodyBytes = 2 << 20
	register(api, s, describe(op, "Runs a cell in a persistent interpreter (python, javascript or bash) and answers when it has ended: "+
		"stdout, stderr, rich results (the last expression's value, display() output) and a structured error. "+
		"Variables survive between cells of the same context. See docs/code.md."), s.runCode)

	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/code/contexts", "create-code-context", "code", "Create a code context", errs...)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Starts a new interpreter. A sandbox holds at most 16 contexts (a 409 past that: delete one)."), s.createCodeContext)

	op = s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/code/contexts", "list-code-contexts", "code", "List code contexts", errs...)
	register(api, s, op, s.listCodeContexts)

	op = s.operation(userOnly, http.MethodDelete, "/sandboxes/{id}/code/contexts/{context_id}", "delete-code-context", "code", "Delete a code context", errs...)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Stops the context's interpreter (a running cell ends) and forgets the context."), s.deleteCodeContext)

	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/code/contexts/{context_id}/restart", "restart-code-context", "code", "Restart a code context", errs...)
	register(api, s, describe(op, "Replaces the context's interpreter with a fresh one: its state is lost, its id stays."), s.restartCodeContext)
}

// code sends req to the agent of sandbox ref.
func (s *Server) code(ctx context.Context, ref string, req kernel.Request) (*kernel.Reply, error) {
	sb, err := s.runningSandbox(ctx, ref)
	if err != nil {
		return nil, err
	}
	var rep *kernel.Reply
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		rep, err = gateway.Code(ctx, c, req)
		return err
	})
	return rep, err
}

func (s *Server) runCode(ctx context.Context, in *runCodeInput) (*runCodeOutput, error) {
	clearWriteDeadline(ctx)
	b := in.Body
	rep, err := s.code(ctx, in.ID, kernel.Request{Op: "run", Context: b.Context, Language: b.Language, Code: b.Code,
		TimeoutMS: int64(b.TimeoutSeconds) * 1000, MaxOutputBytes: b.MaxOutputBytes})
	if err != nil {
		return nil, err
	}
	r := rep.Result
	out := CodeRunResult{Context: r.Context, ExecutionCount: r.ExecutionCount, Stdout: r.Stdout, Stderr: r.Stderr,
		StdoutTruncated: r.StdoutTruncated, StderrTruncated: r.StderrTruncated, Results: r.Results, ExitCode: r.ExitCode,
		Interrupted: r.Interrupted, Restarted: r.Restarted, DurationMS: r.DurationMS}
	if out.Results == nil {
		out.Results = []map[string]string{}
	}
	if e := r.Error; e != nil {
		out.Error = &CodeError{Name: e.Name, Value: e.Value, Traceback: e.Traceback}
	}
	return &runCodeOutput{Body: out}, nil
}

func (s *Server) createCodeContext(ctx context.Context, in *createCodeContextInput) (*codeContextOutput, error) {
	rep, err := s.code(ctx, in.ID, kernel.Request{Op: "create", Language: in.Body.Language})
	if err != nil {
		return nil, err
	}
	return &codeContextOutput{Body: codeContext(*rep.Context)}, nil
}

func (s *Server) listCodeContexts(ctx context.Context, in *codeContextsInput) (*codeContextListOutput, error) {
	rep, err := s.code(ctx, in.ID, kernel.Request{Op: "list"})
	if err != nil {
		return nil, err
	}
	out := CodeContextList{Contexts: make([]CodeContext, 0, len(rep.Contexts))}
	for _, c := range rep.Contexts {
		out.Contexts = append(out.Contexts, codeContext(c))
	}
	return &codeContextListOutput{Body: out}, nil
}

func (s *Server) deleteCodeContext(ctx context.Context, in *codeContextInput) (*struct{}, error) {
	_, err := s.code(ctx, in.ID, kernel.Request{Op: "delete", Context: in.Context})
	return nil, err
}

func (s *Server) restartCodeContext(ctx context.Context, in *codeContextInput) (*codeContextOutput, error) {
	rep, err := s.code(ctx, in.ID, kernel.Request{Op: "restart", Context: in.Context})
	if err != nil {
		return nil, err
	}
	return &codeContextOutput{Body: codeContext(*rep.Context)}, nil
}

func codeContext(c kernel.Info) CodeContext {
	return CodeContext{ID: c.ID, Language: c.Language, Cwd: c.Cwd, Created: c.Created.UTC(), LastUsed: c.LastUsed.UTC(), ExecutionCount: c.ExecutionCount}
}

package codepod

import (
	"context"
	"time"

	"github.com/codepod-dev/codepod/client"
)

// Code languages for RunCode and CreateCodeContext.
const (
	Python     = "python"
	JavaScript = "javascript"
	Bash       = "bash"
)

// CodeOptions tune RunCode. The zero value runs the code as Python in the
// sandbox's default Python context with a 60 s timeout.
type CodeOptions struct {
	// Language is python (default), javascript or bash; with Context it
	// may be left empty.
	Language string
	// Context is a context's id (CreateCodeContext); "" is the sandbox's
	// default context for Language.
	Context string
	// Timeout interrupts the cell (the context keeps its state); 0 is the
	// server's 60 s, at most an hour.
	Timeout time.Duration
	// MaxOutputBytes caps stdout and stderr each (default 1 MiB, at most 4 MiB).
	MaxOutputBytes int
}

// CodeResult is what a cell did. Results holds its rich results in order
// (display() calls, then the last expression's value), each a MIME type →
// data map ("text/plain", "text/html", "image/png" in base64, …).
type CodeResult = client.CodeRunResult

// CodeContext describes a persistent interpreter.
type CodeContext = client.CodeContext

// Text is the text/plain form of the cell's last result ("" without one).
func Text(r *CodeResult) string {
	if r.Results == nil || len(*r.Results) == 0 {
		return ""
	}
	rs := *r.Results
	return rs[len(rs)-1]["text/plain"]
}

// RunCode runs code in a persistent interpreter of the sandbox: variables
// survive between calls on the same context. An exception in the code is
// not an error: look at the result's Error (and Interrupted). Errors are
// for code that could not run (ErrNotFound: no such sandbox or context).
func (s *Sandbox) RunCode(ctx context.Context, code string, opts *CodeOptions) (*CodeResult, error) {
	req := client.CodeRunRequest{Code: code}
	lang := Python
	if opts != nil {
		req.Context = ptrIf(opts.Context)
		if opts.Language != "" || opts.Context != "" {
			lang = opts.Language
		}
		if opts.Timeout > 0 {
			secs := int64((opts.Timeout + time.Second - 1) / time.Second)
			req.TimeoutSeconds = &secs
		}
		if opts.MaxOutputBytes > 0 {
			n := int64(opts.MaxOutputBytes)
			req.MaxOutputBytes = &n
		}
	}
	if lang != "" {
		l := client.CodeRunRequestLanguage(lang)
		req.Language = &l
	}
	return decode[CodeResult](s.c.check(s.c.api.RunCode(ctx, s.id, req)))
}

// CreateCodeContext starts a new interpreter for language (python,
// javascript or bash).
func (s *Sandbox) CreateCodeContext(ctx context.Context, language string) (*CodeContext, error) {
	return decode[CodeContext](s.c.check(s.c.api.CreateCodeContext(ctx, s.id,
		client.CreateCodeContextRequest{Language: client.CreateCodeContextRequestLanguage(language)})))
}

// CodeContexts lists the sandbox's contexts, oldest first.
func (s *Sandbox) CodeContexts(ctx context.Context) ([]CodeContext, error) {
	l, err := decode[client.CodeContextList](s.c.check(s.c.api.ListCodeContexts(ctx, s.id)))
	if err != nil || l.Contexts == nil {
		return nil, err
	}
	return *l.Contexts, nil
}

// RestartCodeContext replaces a context's interpreter with a fresh one:
// its state is lost, its id stays.
func (s *Sandbox) RestartCodeContext(ctx context.Context, id string) (*CodeContext, error) {
	return decode[CodeContext](s.c.check(s.c.api.RestartCodeContext(ctx, s.id, id)))
}

// DeleteCodeContext stops a context's interpreter and forgets it.
func (s *Sandbox) DeleteCodeContext(ctx context.Context, id string) error {
	return drain(s.c.check(s.c.api.DeleteCodeContext(ctx, s.id, id)))
}

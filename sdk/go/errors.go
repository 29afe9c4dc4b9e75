package codepod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error is a request the server refused, or an operation that did not end
// well (a sandbox that failed to start, a wait that timed out). It carries
// the server's RFC 9457 problem document.
type Error struct {
	Kind     Kind   // what went wrong, for errors.Is
	Status   int    // HTTP status; 0 when the SDK made the error itself
	Type     string // the problem's type URI
	Title    string // e.g. "Not Found"
	Detail   string // what was wrong and how to fix it
	Instance string // the request's path
	// Errors lists the fields that failed validation (422).
	Errors []FieldError
	// RequestID is the X-Request-Id of the answer: quote it when you
	// report a problem.
	RequestID string
	cause     error
}

// FieldError is one failed validation.
type FieldError struct {
	Location string `json:"location"` // e.g. "body.network"
	Message  string `json:"message"`
	Value    any    `json:"value,omitempty"`
}

// Kind classifies errors.
type Kind string

// Kinds of Error. Each has a sentinel error for errors.Is.
const (
	KindBadRequest   Kind = "bad-request"  // 400: the request is malformed
	KindUnauthorized Kind = "unauthorized" // 401: no key, or a wrong, expired or revoked one
	KindForbidden    Kind = "forbidden"    // 403: allowed to admins only, or permission denied
	KindNotFound     Kind = "not-found"    // 404: no such thing, or not yours
	KindConflict     Kind = "conflict"     // 409: clashes with the current state
	KindTooLarge     Kind = "too-large"    // 413: over a size limit
	KindInvalid      Kind = "invalid"      // 422: a value fails validation
	KindInternal     Kind = "internal"     // 500: a server bug; the log has details
	KindUnavailable  Kind = "unavailable"  // 502, 503: a runner or agent is unreachable
	KindTimeout      Kind = "timeout"      // 504, or a wait that ran out of time
	KindFailed       Kind = "failed"       // a sandbox ended in error, lost or deleted
	KindOther        Kind = "other"        // any other status
)

// Sentinel errors: errors.Is(err, ErrNotFound) is true for an *Error of
// that Kind.
var (
	ErrBadRequest   error = sentinel(KindBadRequest)
	ErrUnauthorized error = sentinel(KindUnauthorized)
	ErrForbidden    error = sentinel(KindForbidden)
	ErrNotFound     error = sentinel(KindNotFound)
	ErrConflict     error = sentinel(KindConflict)
	ErrTooLarge     error = sentinel(KindTooLarge)
	ErrInvalid      error = sentinel(KindInvalid)
	ErrInternal     error = sentinel(KindInternal)
	ErrUnavailable  error = sentinel(KindUnavailable)
	ErrTimeout      error = sentinel(KindTimeout)
	ErrFailed       error = sentinel(KindFailed)
)

type sentinel Kind

func (s sentinel) Error() string { return "codepod: " + string(s) }

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	for _, f := range e.Errors {
		msg += fmt.Sprintf("; %s: %s", strings.TrimPrefix(f.Location, "body."), f.Message)
	}
	if e.Status != 0 {
		return fmt.Sprintf("codepod: %s (HTTP %d)", msg, e.Status)
	}
	return "codepod: " + msg
}

// Is reports whether target is the sentinel of e's Kind.
func (e *Error) Is(target error) bool {
	s, ok := target.(sentinel)
	return ok && Kind(s) == e.Kind
}

// Unwrap returns the cause of an error the SDK made, e.g.
// context.DeadlineExceeded for a wait that ran out of time.
func (e *Error) Unwrap() error { return e.cause }

var statusKinds = map[int]Kind{
	400: KindBadRequest, 401: KindUnauthorized, 403: KindForbidden, 404: KindNotFound,
	409: KindConflict, 413: KindTooLarge, 422: KindInvalid, 500: KindInternal,
	502: KindUnavailable, 503: KindUnavailable, 504: KindTimeout,
}

// kindOf is the Kind of an HTTP status.
func kindOf(status int) Kind {
	if k, ok := statusKinds[status]; ok {
		return k
	}
	return KindOther
}

// problemFrom reads a refused answer's problem document into an *Error.
func problemFrom(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode, Kind: kindOf(resp.StatusCode), RequestID: resp.Header.Get("X-Request-Id")}
	var p struct {
		Type, Title, Detail, Instance string
		Errors                        []FieldError
	}
	if json.Unmarshal(body, &p) == nil {
		e.Type, e.Title, e.Detail, e.Instance, e.Errors = p.Type, p.Title, p.Detail, p.Instance, p.Errors
	}
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	if e.Detail == "" && p.Title == "" {
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		e.Detail = line
	}
	return e
}

// check turns a transport error or a non-2xx answer into an error, and
// closes the body of a refused answer.
func (c *Client) check(resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		return nil, c.transportError(err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, problemFrom(resp, body)
}

// transportError explains a request that got no answer. A context that
// ended keeps its error in the chain.
func (c *Client) transportError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Detail: "the request to " + c.serverURL + " did not finish in time", cause: err}
	}
	return fmt.Errorf("codepod: cannot reach the CodePod server at %s: %w", c.serverURL, err)
}

// decode decodes the JSON body of an answer that check passed:
// decode[T](c.check(c.api.Op(ctx, …))).
func decode[T any](resp *http.Response, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	v := new(T)
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return nil, fmt.Errorf("codepod: decode the answer to %s %s: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return v, nil
}

// drain ends an answer that check passed and whose body does not matter.
func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// problemBase prefixes the type URI of CodePod's problem documents.
const problemBase = "https://codepod.dev/problems/"

// problemTypes names the problem type of each status CodePod answers with.
// Other statuses get "about:blank", whose meaning is the status itself.
var problemTypes = map[int]string{
	http.StatusBadRequest:            "bad-request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusConflict:              "conflict",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusRequestEntityTooLarge: "too-large",
	http.StatusUnprocessableEntity:   "invalid",
	http.StatusTooManyRequests:       "too-many-requests",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusGatewayTimeout:        "timeout",
}

// codeStatus maps domain error codes to HTTP statuses, once for the API.
var codeStatus = map[string]int{
	codepod.EINVALID:      http.StatusUnprocessableEntity,
	codepod.ENOTFOUND:     http.StatusNotFound,
	codepod.ECONFLICT:     http.StatusConflict,
	codepod.EUNAUTHORIZED: http.StatusUnauthorized,
	codepod.EFORBIDDEN:    http.StatusForbidden,
	codepod.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	codepod.EUNAVAILABLE:  http.StatusServiceUnavailable,
	codepod.ETIMEOUT:      http.StatusGatewayTimeout,
}

// internalDetail is all a client learns about an unexpected failure.
const internalDetail = "internal error; the server log has the details under this request's id (X-Request-Id)"

// problem turns a handler's error into a Huma status error. Domain errors
// keep their message; anything else is logged with the request id and
// answered with a plain 500.
func (s *Server) problem(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) && codepod.ErrorCode(err) == codepod.EINTERNAL {
		logger(ctx).Warn("request timed out", "err", err)
		return huma.NewError(http.StatusGatewayTimeout, "the operation did not finish in time; try again")
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		logger(ctx).Debug("request canceled by the client", "err", err)
		return huma.NewError(499, "request canceled")
	}
	status, ok := codeStatus[codepod.ErrorCode(err)]
	if !ok {
		logger(ctx).Error("request failed", "err", err)
		return huma.NewError(http.StatusInternalServerError, internalDetail)
	}
	return huma.NewError(status, codepod.ErrorMessage(err))
}

// transformProblem completes every problem document Huma writes: type,
// instance, a detail that names the first validation error, the
// WWW-Authenticate challenge on 401, and no internal text on 500.
func (s *Server) transformProblem(ctx huma.Context, _ string, v any) (any, error) {
	e, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	if e.Status == http.StatusInternalServerError && e.Detail != internalDetail {
		logger(ctx.Context()).Error("request failed", "detail", e.Detail, "errors", errorTexts(e.Errors))
		e.Detail, e.Errors = internalDetail, nil
	}
	if e.Status == http.StatusRequestEntityTooLarge && strings.HasPrefix(e.Detail, "request body is too large") {
		e.Detail = fmt.Sprintf("the request body is over this server's limit of %d bytes", ctx.Operation().MaxBodyBytes)
	}
	if e.Status == http.StatusUnsupportedMediaType {
		e.Detail = "request bodies are JSON: send Content-Type: application/json (got " + ctx.Header("Content-Type") + ")"
	}
	if e.Status == http.StatusUnauthorized {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="codepod"`)
	}
	u := ctx.URL()
	complete(e, u.Path)
	return e, nil
}

// complete fills the RFC 9457 members CodePod always sends.
func complete(e *huma.ErrorModel, path string) {
	if e.Title == "" {
		e.Title = http.StatusText(e.Status)
	}
	if e.Type == "" || e.Type == "about:blank" {
		e.Type = "about:blank"
		if t, ok := problemTypes[e.Status]; ok {
			e.Type = problemBase + t
		}
	}
	e.Instance = path
	if (e.Detail == "validation failed" || e.Detail == "") && len(e.Errors) > 0 {
		e.Detail = "validation failed: " + detailText(e.Errors[0])
		if n := len(e.Errors) - 1; n > 0 {
			e.Detail += fmt.Sprintf(" (and %d more in errors)", n)
		}
	}
	if e.Detail == "" {
		e.Detail = e.Title
	}
}

// detailText renders one validation error as "location: message".
func detailText(d *huma.ErrorDetail) string {
	if d == nil {
		return "invalid request"
	}
	if d.Location == "" {
		return d.Message
	}
	return d.Location + ": " + d.Message
}

func errorTexts(errs []*huma.ErrorDetail) []string {
	out := make([]string, 0, len(errs))
	for _, d := range errs {
		if d != nil {
			out = append(out, d.Error())
		}
	}
	return out
}

// writeProblem answers a request that no Huma operation handles (unknown
// routes, panics, auth outside Huma) with a problem document.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	e := &huma.ErrorModel{Status: status, Detail: detail}
	complete(e, r.URL.Path)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="codepod"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

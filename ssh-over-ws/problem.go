package sshws

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DialError is Dial's error when the server refused the upgrade with an
// HTTP answer.
type DialError struct {
	URL        string // without user info or query
	StatusCode int    // HTTP status, e.g. 404
	Status     string // e.g. "404 Not Found"
	// Detail is the problem document's detail (else its title), or the
	// first line of a plain-text body; empty otherwise.
	Detail string
}

func (e *DialError) Error() string {
	msg := fmt.Sprintf("dial websocket %s: server answered %s", e.URL, e.Status)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// maxDetail bounds the detail kept from a body.
const maxDetail = 300

func newDialError(u string, resp *http.Response) *DialError {
	e := &DialError{URL: u, StatusCode: resp.StatusCode, Status: resp.Status}
	if e.Status == "" {
		e.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if resp.Body == nil {
		return e
	}
	// websocket.Dial keeps the first KiB of the body.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case strings.HasSuffix(mt, "json"):
		e.Detail = problemDetail(body)
	case mt == "text/plain":
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		e.Detail = line
	}
	if len(e.Detail) > maxDetail {
		e.Detail = e.Detail[:maxDetail] + "…"
	}
	return e
}

// problemDetail reads the detail (else the title) of an RFC 9457 problem
// document. It reads top-level members as a token stream, so a body cut
// after its detail still gives it.
func problemDetail(body []byte) string {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	var title string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			break
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			continue
		}
		switch key {
		case "detail":
			return s
		case "title":
			title = s
		}
	}
	return title
}

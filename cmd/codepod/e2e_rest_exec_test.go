package main_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testRESTExecConcurrent runs 50 REST execs at once on one sandbox; each
// must get its own output and exit code back.
func testRESTExecConcurrent(t *testing.T, c *cluster, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res execResult
			req := execRequest{Command: []string{"sh", "-c", `echo "out-$1"; echo "err-$1" >&2; exit $2`, "sh", fmt.Sprint(i), fmt.Sprint(i % 5)}}
			status, raw, err := c.api(ctx, "POST", "/api/v1/sandboxes/"+ref+"/exec", req, &res)
			switch {
			case err != nil || status != http.StatusOK:
				t.Errorf("exec %d: %d %v: %s", i, status, err, raw)
			case res.Stdout != fmt.Sprintf("out-%d\n", i) || res.Stderr != fmt.Sprintf("err-%d\n", i) || res.ExitCode != i%5:
				t.Errorf("exec %d: got %+v, want out-%d, err-%d, exit %d", i, res, i, i, i%5)
			}
		}()
	}
	wg.Wait()
}

// testRESTExecDetails checks the documented request fields and answers.
func testRESTExecDetails(t *testing.T, c *cluster, ref string) {
	path := "/api/v1/sandboxes/" + ref + "/exec"
	cases := []struct {
		name  string
		req   execRequest
		check func(execResult) bool
	}{
		{"shell with env and cwd", execRequest{Shell: `echo "$GREETING from $(pwd)"`, Env: map[string]string{"GREETING": "hi"}, Cwd: "/tmp"},
			func(r execResult) bool { return r.Stdout == "hi from /tmp\n" && r.StdoutEncoding == "utf-8" }},
		{"utf-8 stdin", execRequest{Command: []string{"cat"}, Stdin: "héllo\n"},
			func(r execResult) bool { return r.Stdout == "héllo\n" }},
		{"binary stdin comes back base64", execRequest{Command: []string{"cat"}, StdinBase64: base64.StdEncoding.EncodeToString([]byte{0, 0xff, 0xfe})},
			func(r execResult) bool {
				return r.StdoutEncoding == "base64" && r.Stdout == base64.StdEncoding.EncodeToString([]byte{0, 0xff, 0xfe})
			}},
		{"timeout kills", execRequest{Shell: "echo started; sleep 30", TimeoutSeconds: 1},
			func(r execResult) bool {
				return r.TimedOut && r.Signal == "KILL" && r.ExitCode == 137 && r.Stdout == "started\n" && r.DurationMS < 10000
			}},
		{"truncation", execRequest{Shell: "yes | head -c 100000", MaxOutputBytes: 1000},
			func(r execResult) bool { return r.StdoutTruncated && len(r.Stdout) == 1000 && !r.StderrTruncated }},
		{"signal", execRequest{Shell: "kill -TERM $$"},
			func(r execResult) bool { return r.Signal == "TERM" && r.ExitCode == 143 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var res execResult
			c.mustAPI("POST", path, tc.req, &res, http.StatusOK)
			if !tc.check(res) {
				t.Errorf("%+v", res)
			}
		})
	}
	t.Run("bad requests", func(t *testing.T) {
		ctx := context.Background()
		for _, req := range []any{
			execRequest{},
			execRequest{Command: []string{"true"}, Shell: "true"},
			map[string]any{"command": []string{"true"}, "bogus": 1},
		} {
			if status, raw, _ := c.api(ctx, "POST", path, req, nil); status < 400 || status >= 500 {
				t.Errorf("exec %+v: %d %s, want a 4xx problem", req, status, raw)
			}
		}
		if status, raw, _ := c.api(ctx, "POST", "/api/v1/sandboxes/nope/exec", execRequest{Command: []string{"true"}}, nil); status != 404 {
			t.Errorf("exec in a missing sandbox: %d %s, want 404", status, raw)
		}
	})
}

// wsURL turns the cluster's URL and path into a WebSocket URL.
func (c *cluster) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(c.URL, "http") + path
}

// dialWS opens a WebSocket to the server as the admin.
func (c *cluster) dialWS(ctx context.Context, t testing.TB, path string) *websocket.Conn {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + c.AdminKey}}
	ws, resp, err := websocket.Dial(ctx, c.wsURL(path), &websocket.DialOptions{HTTPClient: c.HTTP, HTTPHeader: h})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %d %v", path, status, err)
	}
	ws.SetReadLimit(1 << 22)
	return ws
}

// streamMsg is one message of the streaming exec protocol.
type streamMsg struct {
	Type     string `json:"type"`
	Data     []byte `json:"data,omitempty"` // base64 in JSON
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	TimedOut bool   `json:"timed_out"`
	Detail   string `json:"detail,omitempty"`
}

// testExecStream runs a command over GET /exec/stream: stdin in, stdout
// and stderr out as they come, then the exit message.
func testExecStream(t *testing.T, c *cluster, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := c.dialWS(ctx, t, "/api/v1/sandboxes/"+ref+"/exec/stream")
	defer ws.CloseNow()
	send := func(v any) {
		b, _ := json.Marshal(v)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	send(execRequest{Shell: `while read l; do echo "got $l"; echo "e $l" >&2; done; exit 4`})
	send(streamMsg{Type: "stdin", Data: []byte("one\n")})
	var stdout, stderr strings.Builder
	for !strings.Contains(stdout.String(), "got one\n") {
		m := readStream(ctx, t, ws)
		appendStream(m, &stdout, &stderr)
	}
	send(streamMsg{Type: "stdin", Data: []byte("two\n")})
	send(map[string]string{"type": "stdin_close"})
	for {
		m := readStream(ctx, t, ws)
		if m.Type == "exit" {
			if m.ExitCode != 4 {
				t.Errorf("exit message %+v, want exit_code 4", m)
			}
			break
		}
		appendStream(m, &stdout, &stderr)
	}
	if stdout.String() != "got one\ngot two\n" || stderr.String() != "e one\ne two\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

func readStream(ctx context.Context, t *testing.T, ws *websocket.Conn) streamMsg {
	t.Helper()
	typ, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m streamMsg
	if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil {
		t.Fatalf("message %v %q is not JSON text", typ, b)
	}
	if m.Type == "error" {
		t.Fatalf("error message: %s", b)
	}
	return m
}

func appendStream(m streamMsg, stdout, stderr *strings.Builder) {
	switch m.Type {
	case "stdout":
		stdout.Write(m.Data)
	case "stderr":
		stderr.Write(m.Data)
	}
}

// testPTYWebSocket drives the browser terminal's WebSocket: keystrokes in
// as binary frames, a resize as a text frame.
func testPTYWebSocket(t *testing.T, c *cluster, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := c.dialWS(ctx, t, "/api/v1/sandboxes/"+ref+"/pty?cols=80&rows=24")
	defer ws.CloseNow()
	// One goroutine reads the socket (a Read given a context that ends
	// closes it): the terminal's output goes to screen, the control
	// messages to control.
	var screen strings.Builder
	output, control, readErr := make(chan []byte, 64), make(chan []byte, 1), make(chan error, 1)
	go func() {
		for {
			typ, b, err := ws.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			to := control
			if typ == websocket.MessageBinary {
				to = output
			}
			select {
			case to <- b:
			case <-ctx.Done(): // the test has returned
				return
			}
		}
	}()
	// within reports whether the terminal shows want within d.
	within := func(want string, d time.Duration) bool {
		t.Helper()
		timeout := time.After(d)
		for !strings.Contains(screen.String(), want) {
			select {
			case b := <-output:
				screen.Write(b)
			case err := <-readErr:
				t.Fatalf("waiting for %q: %v; the terminal showed %q", want, err, screen.String())
			case <-timeout:
				return false
			}
		}
		return true
	}
	readUntil := func(want string) {
		t.Helper()
		if !within(want, 20*time.Second) {
			t.Fatalf("waiting for %q: the terminal showed %q", want, screen.String())
		}
	}
	type_ := func(s string) {
		if err := ws.Write(ctx, websocket.MessageBinary, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	type_("stty size\n")
	readUntil("24 80")
	type_("echo $((6*7))\n")
	readUntil("42")
	resize, _ := json.Marshal(map[string]any{"type": "resize", "cols": 100, "rows": 40})
	if err := ws.Write(ctx, websocket.MessageText, resize); err != nil {
		t.Fatal(err)
	}
	// The agent applies the resize beside the keystrokes, not in line with
	// them, so a line typed at once may run before the new size: type it
	// again until the size shows, as a user would.
	for deadline := time.Now().Add(20 * time.Second); !within("40 100", 500*time.Millisecond); {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q after the resize: the terminal showed %q", "40 100", screen.String())
		}
		type_("stty size\n")
	}
	type_("exit 3\n")
	for {
		select {
		case b := <-output: // the echo of what was typed, and the shell's last words
			screen.Write(b)
		case err := <-readErr:
			t.Fatalf("no exit message after `exit 3`: %v", err)
		case b := <-control:
			var m streamMsg
			json.Unmarshal(b, &m)
			if m.Type != "exit" || m.ExitCode != 3 {
				t.Errorf("control message %s, want exit 3", b)
			}
			return
		}
	}
}

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/codepod-dev/codepod/runner/images"
)

// process is the API's view of a background process.
type process struct {
	PID         int      `json:"pid"`
	Command     []string `json:"command"`
	Status      string   `json:"status"`
	ExitCode    *int     `json:"exit_code"`
	Signal      string   `json:"signal"`
	StdinOpen   bool     `json:"stdin_open"`
	StdoutStart int64    `json:"stdout_start"`
	StdoutEnd   int64    `json:"stdout_end"`
}

type processOutput struct {
	Stream  string `json:"stream"`
	Offset  int64  `json:"offset"`
	Dropped int64  `json:"dropped"`
	Data    []byte `json:"data"`
	End     int64  `json:"end"`
	EOF     bool   `json:"eof"`
}

type processMsg struct {
	Type    string   `json:"type"`
	Offset  int64    `json:"offset"`
	Dropped int64    `json:"dropped"`
	Data    []byte   `json:"data"`
	Process *process `json:"process"`
	Status  int      `json:"status"`
	Detail  string   `json:"detail"`
}

func procPath(sb *sandbox, pid int, rest string) string {
	return fmt.Sprintf("/api/v1/sandboxes/%s/processes/%d%s", sb.ID, pid, rest)
}

func (c *cluster) startProcess(ctx context.Context, t *testing.T, sb *sandbox, body map[string]any) process {
	t.Helper()
	var p process
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/processes", body, &p, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	if p.PID <= 0 || p.Status != "running" {
		t.Fatalf("started process: %+v", p)
	}
	return p
}

// attach opens stream-process from the given offsets.
func (c *cluster) attach(ctx context.Context, t *testing.T, sb *sandbox, pid int, from int64) *websocket.Conn {
	t.Helper()
	return c.dialWS(ctx, t, procPath(sb, pid, fmt.Sprintf("/stream?stdout_offset=%d&stderr_offset=%d", from, from)))
}

// readUntil reads stream messages until stdout holds want, returning the
// stdout gathered.
func readUntil(ctx context.Context, t *testing.T, ws *websocket.Conn, want string) string {
	t.Helper()
	var out bytes.Buffer
	for !strings.Contains(out.String(), want) {
		var m processMsg
		if err := wsjson.Read(ctx, ws, &m); err != nil {
			t.Fatalf("waiting for %q (have %q): %v", want, out.String(), err)
		}
		switch m.Type {
		case "stdout":
			out.Write(m.Data)
		case "error", "exit":
			t.Fatalf("waiting for %q (have %q): %+v", want, out.String(), m)
		}
	}
	return out.String()
}

// TestProcessesThroughTheAPI starts a background process, reattaches to it
// from a second client, feeds it stdin, signals it, kills another, and
// checks that another user sees none of it.
func TestProcessesThroughTheAPI(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-procs")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	p := c.startProcess(ctx, t, sb, map[string]any{"shell": `echo started; echo oops >&2; while read l; do echo "got $l"; done`})
	var list struct{ Items []process }
	if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/processes", nil, &list, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if !containsPID(list.Items, p.PID) {
		t.Fatalf("list %+v lacks pid %d", list.Items, p.PID)
	}

	t.Run("attach, stdin and detach", func(t *testing.T) {
		ws := c.attach(ctx, t, sb, p.PID, 0)
		readUntil(ctx, t, ws, "started\n")
		wsjson.Write(ctx, ws, map[string]any{"type": "stdin", "data": []byte("one\n")})
		readUntil(ctx, t, ws, "got one\n")
		ws.Close(websocket.StatusNormalClosure, "") // detach: the process runs on
	})
	t.Run("second client reads from an offset", func(t *testing.T) {
		if err := c.call(ctx, "POST", procPath(sb, p.PID, "/stdin"), map[string]any{"data": "two\n"}, nil, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		other := &cluster{URL: c.URL, AdminKey: c.AdminKey, HTTP: &http.Client{}}
		ws := other.attach(ctx, t, sb, p.PID, int64(len("started\ngot one\n")))
		if got := readUntil(ctx, t, ws, "got two\n"); got != "got two\n" {
			t.Errorf("stdout from the offset: %q", got)
		}
		ws.Close(websocket.StatusNormalClosure, "")
		var o processOutput
		if err := other.call(ctx, "GET", procPath(sb, p.PID, "/output?stream=stderr"), nil, &o, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if string(o.Data) != "oops\n" || o.Offset != 0 || o.Dropped != 0 {
			t.Errorf("stderr %+v", o)
		}
	})
	t.Run("signal and wait", func(t *testing.T) {
		var got process
		if err := c.call(ctx, "POST", procPath(sb, p.PID, "/signal"), map[string]any{"signal": "TERM"}, &got, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if err := c.call(ctx, "POST", procPath(sb, p.PID, "/wait?timeout=60"), nil, &got, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if got.Status != "exited" || got.Signal != "TERM" || got.ExitCode == nil || *got.ExitCode != 143 {
			t.Errorf("after TERM: %+v", got)
		}
	})
	t.Run("kill", func(t *testing.T) {
		k := c.startProcess(ctx, t, sb, map[string]any{"command": []string{"sleep", "1000"}})
		var got process
		if err := c.call(ctx, "DELETE", procPath(sb, k.PID, ""), nil, &got, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if got.Status != "exited" || got.Signal != "KILL" {
			t.Errorf("after kill: %+v", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			body         any
			want         int
		}{
			{"GET", procPath(sb, 999999, ""), nil, http.StatusNotFound},
			{"POST", procPath(sb, p.PID, "/stdin"), map[string]any{"data": "x"}, http.StatusConflict},
			{"POST", procPath(sb, p.PID, "/signal"), map[string]any{"signal": "NOPE"}, http.StatusUnprocessableEntity},
			{"POST", "/api/v1/sandboxes/" + sb.ID + "/processes", map[string]any{"command": []string{"no-such-program"}}, http.StatusUnprocessableEntity},
		} {
			b, _ := json.Marshal(tc.body)
			status, raw, err := c.raw(ctx, tc.method, tc.path, bytes.NewReader(b), "application/json")
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.want || !strings.Contains(string(raw), `"detail"`) {
				t.Errorf("%s %s: %d %s, want %d with a problem", tc.method, tc.path, status, raw, tc.want)
			}
		}
	})
	t.Run("another user gets 404", func(t *testing.T) {
		other := &cluster{URL: c.URL, HTTP: &http.Client{}, AdminKey: newUserKey(ctx, t, c, "procs-other@example.com")}
		for _, path := range []string{"/api/v1/sandboxes/" + sb.ID + "/processes", procPath(sb, p.PID, ""), procPath(sb, p.PID, "/output")} {
			status, raw, err := other.raw(ctx, "GET", path, nil, "")
			if err != nil || status != http.StatusNotFound {
				t.Errorf("GET %s as another user: %d %s %v", path, status, raw, err)
			}
		}
	})
}

func containsPID(ps []process, pid int) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}

// newUserKey creates a user and returns its login key.
func newUserKey(ctx context.Context, t *testing.T, c *cluster, email string) string {
	t.Helper()
	body := map[string]any{"email": email, "name": "Other", "password": "correct horse battery"}
	if err := c.call(ctx, "POST", "/api/v1/users", body, nil, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	if err := c.call(ctx, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": "correct horse battery"}, &tok, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// TestProcessOutputRing checks that output beyond the agent's 1 MiB ring
// is reported as dropped, not silently skipped.
func TestProcessOutputRing(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-procs-ring")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const total = 3 << 20
	p := c.startProcess(ctx, t, sb, map[string]any{"shell": fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", total)})
	var got process
	if err := c.call(ctx, "POST", procPath(sb, p.PID, "/wait?timeout=60"), nil, &got, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if got.Status != "exited" || got.StdoutEnd != total || got.StdoutStart != total-(1<<20) {
		t.Fatalf("after writing %d bytes: %+v", total, got)
	}
	var o processOutput
	if err := c.call(ctx, "GET", procPath(sb, p.PID, "/output?offset=10"), nil, &o, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if o.Offset != got.StdoutStart || o.Dropped != got.StdoutStart-10 || len(o.Data) != 1<<20 || !o.EOF || o.Data[0] != 'x' {
		t.Errorf("read from a dropped offset: offset %d dropped %d len %d eof %v", o.Offset, o.Dropped, len(o.Data), o.EOF)
	}
	ws := c.attach(ctx, t, sb, p.PID, 0)
	defer ws.CloseNow()
	var first processMsg
	if err := wsjson.Read(ctx, ws, &first); err != nil {
		t.Fatal(err)
	}
	if first.Type != "stdout" || first.Dropped != got.StdoutStart || first.Offset != got.StdoutStart {
		t.Errorf("first stream message from 0: type %s offset %d dropped %d", first.Type, first.Offset, first.Dropped)
	}
}

// TestProcessSurvivesServerRestart starts a process, replaces the API
// server with a new one on the same store (the old one's SSH connections
// to the agent closed), and finds the process again through the new one.
func TestProcessSurvivesServerRestart(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-procs-restart")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := c.startProcess(ctx, t, sb, map[string]any{"shell": `echo before; read l; echo "after $l"`})
	ws := c.attach(ctx, t, sb, p.PID, 0)
	readUntil(ctx, t, ws, "before\n")

	c.restartAPI()
	ws.CloseNow()

	var got process
	if err := c.call(ctx, "GET", procPath(sb, p.PID, ""), nil, &got, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if got.Status != "running" || !got.StdinOpen {
		t.Fatalf("after the restart: %+v", got)
	}
	if err := c.call(ctx, "POST", procPath(sb, p.PID, "/stdin"), map[string]any{"data": "restart\n"}, nil, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, "POST", procPath(sb, p.PID, "/wait?timeout=60"), nil, &got, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	var o processOutput
	if err := c.call(ctx, "GET", procPath(sb, p.PID, "/output"), nil, &o, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if got.ExitCode == nil || *got.ExitCode != 0 || string(o.Data) != "before\nafter restart\n" {
		t.Errorf("after the restart: %+v, stdout %q", got, o.Data)
	}
}

// TestProcessHTTPServerOnBase runs `python3 -m http.server` in the
// background on codepod/base, reaches it from an exec, reads its access
// log and kills it. It needs the base image (CODEPOD_TEST_BASE_IMAGE=1).
func TestProcessHTTPServerOnBase(t *testing.T) {
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") == "" {
		t.Skip("set CODEPOD_TEST_BASE_IMAGE=1 to run python3 -m http.server on codepod/base")
	}
	c := sharedCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := images.EnsureBase(ctx, c.Docker, nil); err != nil {
		t.Fatalf("build the base image: %v", err)
	}
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes?wait=60", map[string]any{"name": "e2e-procs-http", "image": "codepod/base:latest", "memory": "256m"}, &sb, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteSandbox(t, c, sb.ID) })
	waitRunning(ctx, t, c, &sb)

	p := c.startProcess(ctx, t, &sb, map[string]any{"command": []string{"python3", "-u", "-m", "http.server", "8765", "--bind", "127.0.0.1"}, "cwd": "/etc"})
	ws := c.attach(ctx, t, &sb, p.PID, 0)
	defer ws.CloseNow()
	readUntil(ctx, t, ws, "Serving HTTP")
	res := c.exec(ctx, t, sb.ID, map[string]any{"command": []string{"python3", "-c",
		"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8765/hostname').status)"}})
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != "200" {
		t.Fatalf("GET from an exec: %+v", res)
	}
	var list struct{ Items []process }
	if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/processes", nil, &list, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(list.Items, func(x process) bool { return x.PID == p.PID && x.Status == "running" }) {
		t.Errorf("the server is not listed as running: %+v", list.Items)
	}
	// The preview URL reaches it from outside the sandbox: an HTTP client
	// with no API key, through the signed link (docs/preview.md).
	var link previewLink
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/preview-urls", map[string]any{"port": 8765, "ttl": "10m"}, &link, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path += "hostname"
	resp, body := previewGet(ctx, t, &http.Client{}, u.String(), "")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) == "" {
		t.Fatalf("GET /hostname through the preview URL: %d %q", resp.StatusCode, body)
	}
	// A second client (its own connection, no WebSocket) reads the access
	// log kept since the start: both GETs are there.
	second := &cluster{URL: c.URL, AdminKey: c.AdminKey, HTTP: &http.Client{Transport: &http.Transport{}}}
	var log processOutput
	if err := second.call(ctx, "GET", procPath(&sb, p.PID, "/output?stream=stderr"), nil, &log, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log.Data), "GET /hostname"); n != 2 {
		t.Errorf("access log on stderr read by a second client: %d GETs, want 2 (exec and preview): %q", n, log.Data)
	}
	var got process
	if err := c.call(ctx, "DELETE", procPath(&sb, p.PID, ""), nil, &got, http.StatusOK); err != nil || got.Status != "exited" {
		t.Fatalf("kill: %+v %v", got, err)
	}
}

// waitRunning polls the sandbox until it runs.
func waitRunning(ctx context.Context, t *testing.T, c *cluster, sb *sandbox) {
	t.Helper()
	for sb.Status != "running" {
		if sb.Status == "error" || ctx.Err() != nil {
			t.Fatalf("sandbox %s is %s (%s)", sb.Name, sb.Status, sb.Reason)
		}
		time.Sleep(100 * time.Millisecond)
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, sb, http.StatusOK); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkProcessStartWait measures a background `true`: start, then
// wait for its exit (two requests), beside a REST exec of `true` (one) in
// the same run.
func BenchmarkProcessStartWait(b *testing.B) {
	c := sharedCluster(b)
	sb := newSandbox(b, c, "bench-procs")
	ctx := context.Background()
	b.Run("exec", func(b *testing.B) {
		measure(b, func() error {
			status, raw, err := c.raw(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", strings.NewReader(`{"command":["true"]}`), "application/json")
			if err == nil && status != http.StatusOK {
				b.Fatalf("exec: %d %s", status, raw)
			}
			return err
		})
	})
	b.Run("start+wait", func(b *testing.B) {
		measure(b, func() error {
			var p process
			if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/processes", map[string]any{"command": []string{"true"}}, &p, http.StatusCreated); err != nil {
				return err
			}
			return c.call(ctx, "POST", procPath(sb, p.PID, "/wait?timeout=60"), nil, &p, http.StatusOK)
		})
	})
	b.Run("list", func(b *testing.B) {
		measure(b, func() error {
			return c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/processes", nil, nil, http.StatusOK)
		})
	})
}

package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
	"golang.org/x/crypto/ssh"
)

func exec(t *testing.T, c *ssh.Client, req gateway.ExecRequest) *gateway.ExecResult {
	t.Helper()
	res, err := gateway.Exec(ctx(t), c, req)
	if err != nil {
		t.Fatalf("exec %q: %v", req.Command, err)
	}
	return res
}

func TestExecExitCodes(t *testing.T) {
	c := newSandbox(t).client(t)
	for _, tc := range []struct {
		name   string
		argv   []string
		code   int
		signal string
	}{
		{"true", []string{"true"}, 0, ""},
		{"false", []string{"false"}, 1, ""},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3, ""},
		{"exit 255", []string{"sh", "-c", "exit 255"}, 255, ""},
		{"killed by TERM", []string{"sh", "-c", "kill -TERM $$"}, 143, "TERM"},
		{"missing program", []string{"no-such-program-xyz"}, 127, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := exec(t, c, gateway.ExecRequest{Command: tc.argv})
			if res.ExitCode != tc.code || res.Signal != tc.signal || res.TimedOut {
				t.Errorf("exit %d signal %q timed out %v, want exit %d signal %q", res.ExitCode, res.Signal, res.TimedOut, tc.code, tc.signal)
			}
		})
	}
}

func TestExecArgvIsNotInterpreted(t *testing.T) {
	c := newSandbox(t).client(t)
	args := []string{"a b", "it's", "$HOME", "*", `"q"`, "x;y", "", "-n"}
	res := exec(t, c, gateway.ExecRequest{Command: append([]string{"printf", "%s|"}, args...)})
	if got, want := string(res.Stdout.Data), strings.Join(args, "|")+"|"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

func TestExecEnvAndCwd(t *testing.T) {
	c := newSandbox(t).client(t)
	dir := t.TempDir()
	res := exec(t, c, gateway.ExecRequest{
		Command: []string{"sh", "-c", `printf '%s\n' "$GREETING" "$(pwd)"`},
		Env:     map[string]string{"GREETING": "hello there", "OTHER": "x"},
		Cwd:     dir,
	})
	if want := "hello there\n" + dir + "\n"; string(res.Stdout.Data) != want || res.ExitCode != 0 {
		t.Errorf("stdout %q exit %d, want %q", res.Stdout.Data, res.ExitCode, want)
	}

	home := strings.TrimSpace(string(exec(t, c, gateway.ExecRequest{Command: []string{"pwd"}}).Stdout.Data))
	if h := os.Getenv("HOME"); h != "" && home != h {
		t.Errorf("default cwd %q, want the home %q", home, h)
	}

	res = exec(t, c, gateway.ExecRequest{Command: []string{"pwd"}, Cwd: filepath.Join(dir, "missing")})
	if res.ExitCode == 0 || !strings.Contains(string(res.Stderr.Data), "missing") {
		t.Errorf("missing cwd: exit %d stderr %q", res.ExitCode, res.Stderr.Data)
	}
}

func TestExecStdinBinary(t *testing.T) {
	c := newSandbox(t).client(t)
	var in bytes.Buffer
	for i := range 4096 {
		in.WriteByte(byte(i))
	}
	res := exec(t, c, gateway.ExecRequest{Command: []string{"cat"}, Stdin: in.Bytes()})
	if !bytes.Equal(res.Stdout.Data, in.Bytes()) {
		t.Fatalf("cat returned %d bytes, not the %d sent", len(res.Stdout.Data), in.Len())
	}
	text, enc := res.Stdout.Text()
	if enc != gateway.EncodingBase64 {
		t.Fatalf("binary output encoded as %q", enc)
	}
	if dec, err := base64.StdEncoding.DecodeString(text); err != nil || !bytes.Equal(dec, in.Bytes()) {
		t.Errorf("base64 output does not decode to the input (err %v)", err)
	}
}

func TestExecOutputEncoding(t *testing.T) {
	c := newSandbox(t).client(t)
	for _, tc := range []struct {
		name, printf string
		max          int
		text, enc    string
		truncated    bool
	}{
		{"utf-8", `héllo ✓\n`, 0, "héllo ✓\n", gateway.EncodingUTF8, false},
		{"not utf-8", `\377\376abc`, 0, base64.StdEncoding.EncodeToString([]byte("\xff\xfeabc")), gateway.EncodingBase64, false},
		{"cut inside a character", `ééé`, 3, "é", gateway.EncodingUTF8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := exec(t, c, gateway.ExecRequest{Command: []string{"printf", tc.printf}, MaxOutputBytes: tc.max})
			text, enc := res.Stdout.Text()
			if text != tc.text || enc != tc.enc || res.Stdout.Truncated != tc.truncated {
				t.Errorf("got %q %s truncated=%v, want %q %s truncated=%v", text, enc, res.Stdout.Truncated, tc.text, tc.enc, tc.truncated)
			}
		})
	}
}

func TestExecTruncation(t *testing.T) {
	c := newSandbox(t).client(t)
	res := exec(t, c, gateway.ExecRequest{
		Command:        []string{"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; head -c 2000 /dev/zero | tr '\\0' b >&2; echo done >&2"},
		MaxOutputBytes: 1000,
	})
	if len(res.Stdout.Data) != 1000 || !res.Stdout.Truncated || strings.Trim(string(res.Stdout.Data), "a") != "" {
		t.Errorf("stdout: %d bytes truncated=%v", len(res.Stdout.Data), res.Stdout.Truncated)
	}
	if len(res.Stderr.Data) != 1000 || !res.Stderr.Truncated {
		t.Errorf("stderr: %d bytes truncated=%v", len(res.Stderr.Data), res.Stderr.Truncated)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit %d: a command whose output is cut must still run to its end", res.ExitCode)
	}
	res = exec(t, c, gateway.ExecRequest{Command: []string{"printf", "12345"}, MaxOutputBytes: 5})
	if string(res.Stdout.Data) != "12345" || res.Stdout.Truncated {
		t.Errorf("output exactly at the cap: %q truncated=%v", res.Stdout.Data, res.Stdout.Truncated)
	}
}

func TestExecTimeoutKillsTheProcessGroup(t *testing.T) {
	c := newSandbox(t).client(t)
	start := time.Now()
	res := exec(t, c, gateway.ExecRequest{
		Command: []string{"sh", "-c", "sleep 30 & echo $! $$; wait"},
		Timeout: 300 * time.Millisecond,
	})
	if !res.TimedOut || res.Signal != "KILL" || res.ExitCode != 137 {
		t.Errorf("timed out %v signal %q exit %d, want true KILL 137", res.TimedOut, res.Signal, res.ExitCode)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("exec took %s after a 300ms timeout", d)
	}
	for _, f := range strings.Fields(string(res.Stdout.Data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("stdout %q: %v", res.Stdout.Data, err)
		}
		waitGone(t, pid)
	}
	if len(strings.Fields(string(res.Stdout.Data))) != 2 {
		t.Errorf("stdout %q: want two pids", res.Stdout.Data)
	}
}

// waitGone fails unless process pid disappears within 5s.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
	}
	t.Errorf("process %d still exists", pid)
}

func TestExecContextCancelled(t *testing.T) {
	c := newSandbox(t).client(t)
	cx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := gateway.Exec(cx, c, gateway.ExecRequest{Command: []string{"sleep", "30"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the context's deadline", err)
	}
	res := exec(t, c, gateway.ExecRequest{Command: []string{"true"}})
	if res.ExitCode != 0 {
		t.Errorf("connection unusable after a cancelled exec")
	}
}

func TestExecRejectsBadRequests(t *testing.T) {
	c := newSandbox(t).client(t)
	for _, req := range []gateway.ExecRequest{
		{},
		{Command: []string{""}},
		{Command: []string{"true"}, Env: map[string]string{"BAD-NAME": "x"}},
		{Command: []string{"true"}, Env: map[string]string{"CODEPOD_CWD": "/"}},
		{Command: []string{"true"}, Timeout: 2 * time.Hour},
		{Command: []string{"true"}, MaxOutputBytes: 17 << 20},
		{Command: []string{"a\x00b"}},
	} {
		_, err := gateway.Exec(ctx(t), c, req)
		wantCode(t, err, codepod.EINVALID)
	}
}

func TestExecConcurrentOnOnePooledConnection(t *testing.T) {
	sb := newSandbox(t)
	p := sb.pool(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, err := p.Client(ctx(t), sandboxID)
			if err != nil {
				errs <- err
				return
			}
			res, err := gateway.Exec(ctx(t), c, gateway.ExecRequest{
				Command: []string{"sh", "-c", `echo "out $N"; echo "err $N" >&2`},
				Env:     map[string]string{"N": strconv.Itoa(i)},
			})
			switch {
			case err != nil:
				errs <- err
			case string(res.Stdout.Data) != fmt.Sprintf("out %d\n", i) || string(res.Stderr.Data) != fmt.Sprintf("err %d\n", i):
				errs <- fmt.Errorf("exec %d: stdout %q stderr %q", i, res.Stdout.Data, res.Stderr.Data)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := sb.dials.Load(); d != 1 {
		t.Errorf("%d dials for %d concurrent execs, want 1", d, n)
	}
}

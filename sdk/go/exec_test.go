package codepod_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

func TestExec(t *testing.T) {
	c := newClient(t)
	sb := newSandbox(t, c)
	ctx := t.Context()

	t.Run("echo", func(t *testing.T) {
		res, err := sb.Exec(ctx, []string{"echo", "hello", "world"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Stdout != "hello world\n" || res.Stderr != "" || res.ExitCode != 0 || res.TimedOut {
			t.Errorf("echo = %+v, want stdout %q and exit 0", res, "hello world\n")
		}
	})
	t.Run("env, cwd, stdin and exit code", func(t *testing.T) {
		res, err := sb.Exec(ctx, codepod.Shell(`echo "$A" "$(pwd)"; cat; echo oops >&2; exit 7`), &codepod.ExecOptions{
			Env: map[string]string{"A": "x y"}, Cwd: "/tmp", Stdin: []byte("from stdin\n"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stdout != "x y /tmp\nfrom stdin\n" || res.Stderr != "oops\n" || res.ExitCode != 7 {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("binary output", func(t *testing.T) {
		res, err := sb.Exec(ctx, codepod.Shell(`printf '\000\377\376ok'`), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Stdout != "\x00\xff\xfeok" {
			t.Errorf("stdout = %q, want the raw bytes", res.Stdout)
		}
	})
	t.Run("timeout fires", func(t *testing.T) {
		start := time.Now()
		res, err := sb.Exec(ctx, codepod.Shell("echo started; sleep 30"), &codepod.ExecOptions{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if !res.TimedOut || res.Signal != "KILL" || res.ExitCode != 137 || res.Stdout != "started\n" {
			t.Errorf("got %+v, want timed out by KILL (137) with the output so far", res)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("a 1s timeout took %s", d)
		}
	})
	t.Run("truncated output", func(t *testing.T) {
		res, err := sb.Exec(ctx, codepod.Shell("yes | head -c 5000"), &codepod.ExecOptions{MaxOutputBytes: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Stdout) != 100 || !res.StdoutTruncated {
			t.Errorf("stdout %d bytes, truncated %v; want 100 and true", len(res.Stdout), res.StdoutTruncated)
		}
	})
	t.Run("invalid request", func(t *testing.T) {
		_, err := sb.Exec(ctx, []string{}, nil)
		var e *codepod.Error
		if !errors.As(err, &e) || e.Status/100 != 4 || e.Detail == "" {
			t.Errorf("Exec(no command) = %v, want a 4xx *Error with a detail", err)
		}
	})
}

func TestExecStream(t *testing.T) {
	c := newClient(t)
	sb := newSandbox(t, c)
	ctx := t.Context()

	t.Run("output, stdin and exit", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		st, err := sb.ExecStream(ctx, codepod.Shell("echo out; echo err >&2; tr a-z A-Z; exit 4"), &codepod.StreamOptions{
			Stdin: strings.NewReader("shout\n"), Stdout: &stdout, Stderr: &stderr,
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.ExitCode != 4 || stdout.String() != "out\nSHOUT\n" || stderr.String() != "err\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", st.ExitCode, stdout.String(), stderr.String())
		}
	})
	t.Run("output arrives while the command runs; cancel kills it", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := sb.ExecStream(cctx, codepod.Shell("echo first; sleep 30"), &codepod.StreamOptions{Stdout: pw})
			pw.Close()
			done <- err
		}()
		line := make([]byte, 6)
		if _, err := io.ReadFull(pr, line); err != nil || string(line) != "first\n" {
			t.Fatalf("first output = %q, %v", line, err)
		}
		go io.Copy(io.Discard, pr)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("ExecStream after cancel = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ExecStream did not return 10s after its context was cancelled")
		}
		// The kill travels from the closed stream through the server and
		// runner to the agent after ExecStream returned: wait for it.
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := sb.Exec(ctx, codepod.Shell("ps | grep -c '[s]leep 30' || true"), nil)
			if err == nil && strings.TrimSpace(res.Stdout) == "0" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sleep processes left 30s after cancel: %v, %v", res, err)
			}
			time.Sleep(100 * time.Millisecond) // between polls only: the deadline decides
		}
	})
	t.Run("timeout fires", func(t *testing.T) {
		st, err := sb.ExecStream(ctx, []string{"sleep", "30"}, &codepod.StreamOptions{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if !st.TimedOut || st.ExitCode != 137 {
			t.Errorf("got %+v, want timed out with 137", st)
		}
	})
}

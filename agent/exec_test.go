package agent_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestExitCodes(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	for _, code := range []int{0, 1, 42, 255} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			res := run(t, c, fmt.Sprintf("echo out; echo err >&2; exit %d", code), nil, nil)
			if res.code != code || res.signal != "" {
				t.Errorf("exit %d signal %q, want exit %d", res.code, res.signal, code)
			}
			if res.stdout != "out\n" || res.stderr != "err\n" {
				t.Errorf("stdout %q stderr %q", res.stdout, res.stderr)
			}
		})
	}
}

func TestSignalDeathReported(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	res := run(t, c, "kill -KILL $$", nil, nil)
	if res.signal != "KILL" {
		t.Errorf("signal %q (exit %d), want KILL", res.signal, res.code)
	}
}

// TestClientSignal sends TERM from the client; it reaches the command.
func TestClientSignal(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, _ := s.StdoutPipe()
	if err := s.Start("echo ready; sleep 30"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, out, "ready", 5*time.Second)
	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*ssh.ExitError)
		if !ok || ee.Signal() != "TERM" {
			t.Fatalf("wait: %v, want exit-signal TERM", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("command did not die of the forwarded TERM")
	}
}

func TestEnvAndWorkingDirectory(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	dir := t.TempDir()
	res := run(t, c, `echo "$FOO"; pwd; echo "cwd=${CODEPOD_CWD-unset}"; echo "$HOME $USER"`,
		map[string]string{"FOO": "bar baz", "CODEPOD_CWD": dir}, nil)
	want := fmt.Sprintf("bar baz\n%s\ncwd=unset\n/root root\n", dir)
	if res.code != 0 || res.stdout != want {
		t.Errorf("got %q (exit %d, stderr %q), want %q", res.stdout, res.code, res.stderr, want)
	}
	t.Run("default is home", func(t *testing.T) {
		if res := run(t, c, "pwd", nil, nil); res.stdout != "/root\n" {
			t.Errorf("pwd %q", res.stdout)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		res := run(t, c, "echo should not run", map[string]string{"CODEPOD_CWD": "/no/such/dir"}, nil)
		if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, "/no/such/dir") {
			t.Errorf("exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
		}
	})
}

func TestStdinBinarySafe(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	t.Run("all byte values", func(t *testing.T) {
		var in []byte
		for i := 0; i < 4; i++ {
			for b := 0; b < 256; b++ {
				in = append(in, byte(b))
			}
		}
		res := run(t, c, "cat", nil, in)
		if res.stdout != string(in) {
			t.Errorf("round trip changed the bytes: got %d bytes", len(res.stdout))
		}
		// and on stderr
		res = run(t, c, "cat >&2", nil, in)
		if res.stderr != string(in) || res.stdout != "" {
			t.Errorf("stderr round trip changed the bytes: got %d bytes", len(res.stderr))
		}
	})
	t.Run("5 MB", func(t *testing.T) {
		in := make([]byte, 5<<20)
		rand.Read(in)
		res := run(t, c, "cat", nil, in)
		if sha256.Sum256([]byte(res.stdout)) != sha256.Sum256(in) {
			t.Errorf("5 MB round trip differs (%d bytes back)", len(res.stdout))
		}
		res = run(t, c, "wc -c", nil, in)
		if strings.TrimSpace(res.stdout) != strconv.Itoa(len(in)) {
			t.Errorf("wc -c says %q", res.stdout)
		}
	})
}

// TestBackgroundProcessDoesNotHoldSession: a command that leaves a silent
// background process holding its stdout still returns promptly.
func TestBackgroundProcessDoesNotHoldSession(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	start := time.Now()
	res := run(t, c, "sleep 3 & echo started", nil, nil)
	if res.stdout != "started\n" || res.code != 0 {
		t.Errorf("stdout %q exit %d", res.stdout, res.code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("session took %v: held open by the background process", d)
	}
}

// TestSessionCloseKillsProcessGroup closes a session whose command (and its
// child) still run: both are killed.
func TestSessionCloseKillsProcessGroup(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.StdoutPipe()
	if err := s.Start("sleep 60 & echo pids $$ $!; wait"); err != nil {
		t.Fatal(err)
	}
	line := readUntil(t, out, "\n", 5*time.Second)
	var shell, child int
	if _, err := fmt.Sscanf(line, "pids %d %d", &shell, &child); err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	s.Close()
	for _, pid := range []int{shell, child} {
		waitGone(t, pid)
	}
}

// waitGone waits until pid no longer exists (or is a zombie nobody reaped).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			return
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && bytes.Contains(st, []byte(") Z ")) {
			return // dead; its parent (an orphaned sh) reaps it
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("process %d still runs after the session closed", pid)
}

func TestRunsAsPasswdUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch users")
	}
	f := newFixture(t)
	startAgent(t, f)
	for user, want := range map[string]string{"nobody": "65534", "root": "0", "no-such-user": "0"} {
		t.Run(user, func(t *testing.T) {
			c, err := f.dial(t, user, ssh.PublicKeys(f.user))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res := run(t, c, "id -u", nil, nil)
			if strings.TrimSpace(res.stdout) != want {
				t.Errorf("id -u = %q (stderr %q), want %s", res.stdout, res.stderr, want)
			}
		})
	}
}

// TestArgvRunsWithoutShell: a line that only execs an argv (what the
// gateway sends for an API command array) runs that argv directly, with its
// words taken literally, the session's environment, working directory and
// PATH; any other line still goes through the shell. BASH_ENV names a
// script every non-interactive bash runs first: it shows whether a shell
// started.
func TestArgvRunsWithoutShell(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	dir := t.TempDir()
	marker := dir + "/bash_env"
	write(t, marker, []byte("echo shell-ran >&2\n"))
	os.Mkdir(dir+"/bin", 0o755)
	write(t, dir+"/bin/hello", []byte("#!/bin/sh\necho hello \"$@\"\n"))
	write(t, dir+"/bin/noshebang", []byte("echo no shebang \"$1\"\n"))
	os.Chmod(dir+"/bin/hello", 0o755)
	os.Chmod(dir+"/bin/noshebang", 0o755)
	env := map[string]string{"BASH_ENV": marker, "FOO": "bar baz", "CODEPOD_CWD": dir}

	t.Run("words are literal", func(t *testing.T) {
		res := run(t, c, `exec printf '%s|' 'a b' '*' '$FOO' 'it'\''s' '' ~ x=1`, env, nil)
		// ~ is not in the gateway's form: that line goes to the shell.
		if !strings.Contains(res.stderr, "shell-ran") {
			t.Errorf("a line with ~ did not use the shell: %+v", res)
		}
		res = run(t, c, `exec printf '%s|' 'a b' '*' '$FOO' 'it'\''s' '' x=1`, env, nil)
		if res.code != 0 || res.stdout != "a b|*|$FOO|it's||x=1|" || res.stderr != "" {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("a shell line still uses the shell", func(t *testing.T) {
		res := run(t, c, `printf '%s|' "$FOO" *`, env, nil)
		if !strings.Contains(res.stderr, "shell-ran") || !strings.HasPrefix(res.stdout, "bar baz|") {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("env and cwd", func(t *testing.T) {
		res := run(t, c, "exec env", env, nil)
		for _, want := range []string{"FOO=bar baz\n", "PWD=" + dir + "\n", "HOME=/root\n", "USER=root\n"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("env lacks %q: %q", want, res.stdout)
			}
		}
		if strings.Contains(res.stdout, "CODEPOD_CWD") || res.stderr != "" {
			t.Errorf("env %q stderr %q", res.stdout, res.stderr)
		}
		if res := run(t, c, "exec pwd", env, nil); res.stdout != dir+"\n" {
			t.Errorf("pwd %+v", res)
		}
	})
	t.Run("PATH of the session", func(t *testing.T) {
		e := map[string]string{"PATH": dir + "/bin:/usr/bin:/bin", "BASH_ENV": marker}
		if res := run(t, c, "exec hello 'w o'", e, nil); res.code != 0 || res.stdout != "hello w o\n" {
			t.Errorf("got %+v", res)
		}
		if res := run(t, c, "exec noshebang arg", e, nil); res.code != 0 || res.stdout != "no shebang arg\n" {
			t.Errorf("script without #!: %+v", res)
		}
		e["CODEPOD_CWD"] = dir
		if res := run(t, c, "exec bin/hello rel", e, nil); res.stdout != "hello rel\n" {
			t.Errorf("relative path: %+v", res)
		}
	})
	t.Run("missing command", func(t *testing.T) {
		res := run(t, c, "exec no-such-command-x1 arg", env, nil)
		if res.code != 127 || res.stderr != "codepod-agent: no-such-command-x1: command not found\n" {
			t.Errorf("got %+v", res)
		}
		res = run(t, c, "exec "+dir+"/bin", env, nil)
		if res.code != 126 || !strings.Contains(res.stderr, "is a directory") {
			t.Errorf("a directory: %+v", res)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		if res := run(t, c, "exec cat", nil, []byte("in\x00put")); res.stdout != "in\x00put" {
			t.Errorf("got %+v", res)
		}
	})
}

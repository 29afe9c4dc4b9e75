package agent_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/agent/token"
	"golang.org/x/crypto/ssh"
)

const sandboxID = "sb-0123456789"

// fixture is a sandbox's etc and run directories, as the runner makes them.
type fixture struct {
	etc     string
	socket  string
	secret  []byte
	hostKey ssh.PublicKey
	user    ssh.Signer // authorized
	userKey ed25519.PrivateKey
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{etc: t.TempDir(), secret: make([]byte, 32)}
	rand.Read(f.secret)
	// Unix socket paths are limited to 108 bytes: keep it short.
	run, err := os.MkdirTemp("", "cpa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	f.socket = filepath.Join(run, "agent.sock")
	if _, err := hostkey.Generate(f.etc); err != nil {
		t.Fatal(err)
	}
	if f.hostKey, err = hostkey.PublicKey(f.etc); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(f.etc, "ssh_secret"), f.secret)
	write(t, filepath.Join(f.etc, "sandbox_id"), []byte(sandboxID+"\n"))
	f.user, f.userKey = newKey(t)
	write(t, filepath.Join(f.etc, "authorized_keys"), ssh.MarshalAuthorizedKey(f.user.PublicKey()))
	return f
}

func newKey(t testing.TB) (ssh.Signer, ed25519.PrivateKey) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// token mints a password valid for a minute.
func (f *fixture) token() string {
	return token.Mint(f.secret, sandboxID, time.Now().Add(time.Minute))
}

// startAgent runs the agent in this process on the fixture's socket.
func startAgent(t testing.TB, f *fixture, mod ...func(*agent.Config)) *agent.Agent {
	t.Helper()
	cfg := agent.Config{EtcDir: f.etc, SocketPath: f.socket, Logger: testLogger(t)}
	for _, m := range mod {
		m(&cfg)
	}
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// testLogger writes the agent's log lines into the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// dial connects over the Unix socket, pinning the host key.
func (f *fixture) dial(t testing.TB, user string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("unix", f.socket, &ssh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: ssh.FixedHostKey(f.hostKey),
		Timeout:         5 * time.Second,
	})
}

// client is an authenticated connection as root, closed with the test.
func (f *fixture) client(t testing.TB) *ssh.Client {
	t.Helper()
	c, err := f.dial(t, "root", ssh.PublicKeys(f.user))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// execResult is what a client sees of one command.
type execResult struct {
	stdout, stderr string
	code           int
	signal         string
}

// run runs cmd in a new session with env and stdin.
func run(t testing.TB, c *ssh.Client, cmd string, env map[string]string, stdin []byte) execResult {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for k, v := range env {
		if err := s.Setenv(k, v); err != nil {
			t.Fatalf("setenv %s: %v", k, err)
		}
	}
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	if stdin != nil {
		s.Stdin = bytes.NewReader(stdin)
	}
	err = s.Run(cmd)
	res := execResult{stdout: out.String(), stderr: errb.String()}
	var ee *ssh.ExitError
	switch {
	case errors.As(err, &ee):
		res.code, res.signal = ee.ExitStatus(), ee.Signal()
	case err != nil:
		t.Fatalf("run %q: %v (stderr %q)", cmd, err, errb.String())
	}
	return res
}

// readUntil reads r until it has seen want, or fails after timeout.
func readUntil(t testing.TB, r io.Reader, want string, timeout time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			buf.Write(b[:n])
			if strings.Contains(buf.String(), want) || err != nil {
				got <- buf.String()
				return
			}
		}
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, want) {
			t.Fatalf("output %q does not contain %q", s, want)
		}
		return s
	case <-time.After(timeout):
		t.Fatalf("timed out waiting for %q", want)
	}
	return ""
}

package gateway_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/agent/token"
	"github.com/codepod-dev/codepod/gateway"
	"golang.org/x/crypto/ssh"
)

const sandboxID = "sb-gateway-test"

// sandbox is an agent running in this process on a Unix socket, with the
// etc directory the runner would make for it.
type sandbox struct {
	etc         string
	socket      string
	secret      []byte
	fingerprint string
	agent       *agent.Agent
	dials       atomic.Int32 // how often a pool dialed it
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	sb := &sandbox{etc: t.TempDir(), secret: make([]byte, 32)}
	rand.Read(sb.secret)
	run, err := os.MkdirTemp("", "cpg") // socket paths must stay short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	sb.socket = filepath.Join(run, "agent.sock")
	if sb.fingerprint, err = hostkey.Generate(sb.etc); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sb.etc, "ssh_secret"), sb.secret)
	writeFile(t, filepath.Join(sb.etc, "sandbox_id"), []byte(sandboxID+"\n"))
	sb.start(t)
	return sb
}

// start runs a new agent on the sandbox's socket; it is closed with the test.
func (sb *sandbox) start(t testing.TB) {
	t.Helper()
	a, err := agent.New(agent.Config{EtcDir: sb.etc, SocketPath: sb.socket, Logger: testLogger(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	sb.agent = a
	t.Cleanup(func() { a.Close() })
}

// pool returns a pool that reaches the sandbox over its socket with a
// minted token, pinning fingerprint (the real one unless given).
func (sb *sandbox) pool(t testing.TB, fingerprint ...string) *gateway.Pool {
	t.Helper()
	fp := sb.fingerprint
	if len(fingerprint) > 0 {
		fp = fingerprint[0]
	}
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, id string) (net.Conn, error) {
			sb.dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, "unix", sb.socket)
		},
		Auth: func(ctx context.Context, id string) (ssh.AuthMethod, string, error) {
			return ssh.Password(token.Mint(sb.secret, id, time.Now().Add(time.Minute))), fp, nil
		},
		Logger: testLogger(t, slog.LevelInfo),
	})
	t.Cleanup(func() { p.Close() })
	return p
}

// client is the pooled connection of a fresh pool.
func (sb *sandbox) client(t testing.TB) *ssh.Client {
	t.Helper()
	c, err := sb.pool(t).Client(context.Background(), sandboxID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// testLogger writes log lines into the test's log.
func testLogger(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// wantCode fails unless err is a *codepod.Error with code whose message
// contains each of parts.
func wantCode(t testing.TB, err error, code string, parts ...string) {
	t.Helper()
	if got := codepod.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
	msg := codepod.ErrorMessage(err)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error message %q does not contain %q", msg, p)
		}
	}
}

// ctx is a context for one test step.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// mint returns a token for the sandbox, valid for a minute.
func mint(sb *sandbox, id string) string {
	return token.Mint(sb.secret, id, time.Now().Add(time.Minute))
}

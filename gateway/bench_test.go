package gateway_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/codepod-dev/codepod/gateway"
	"github.com/pkg/sftp"
)

// BenchmarkExecTrue runs `true` through the pool: one pooled connection
// to an in-process agent over a Unix socket, one session per exec.
func BenchmarkExecTrue(b *testing.B) {
	p := newSandbox(b).pool(b)
	c, err := p.Client(ctx(b), sandboxID)
	if err != nil {
		b.Fatal(err)
	}
	req := gateway.ExecRequest{Command: []string{"true"}}
	for b.Loop() {
		res, err := gateway.Exec(ctx(b), c, req)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("exec: %v", err)
		}
	}
}

// BenchmarkExecTrueParallel is BenchmarkExecTrue from GOMAXPROCS callers
// sharing the one connection.
func BenchmarkExecTrueParallel(b *testing.B) {
	p := newSandbox(b).pool(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, err := p.Client(ctx(b), sandboxID)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := gateway.Exec(ctx(b), c, gateway.ExecRequest{Command: []string{"true"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadSmallFile compares reading a 1 KiB file through the cached
// SFTP session (what ReadFile does) with opening an SFTP session per call.
func BenchmarkReadSmallFile(b *testing.B) {
	c := newSandbox(b).client(b)
	p := filepath.Join(b.TempDir(), "small")
	os.WriteFile(p, bytes.Repeat([]byte("x"), 1024), 0o644)
	b.Run("cached-session", func(b *testing.B) {
		for b.Loop() {
			r, _, err := gateway.ReadFile(ctx(b), c, p)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, r)
			r.Close()
		}
	})
	b.Run("session-per-call", func(b *testing.B) {
		for b.Loop() {
			sc, err := sftp.NewClient(c)
			if err != nil {
				b.Fatal(err)
			}
			f, err := sc.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, f)
			f.Close()
			sc.Close()
		}
	})
}

// BenchmarkFileRoundTrip writes and reads back 16 MiB.
func BenchmarkFileRoundTrip(b *testing.B) {
	c := newSandbox(b).client(b)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	p := filepath.Join(b.TempDir(), "big")
	b.SetBytes(int64(2 * len(data)))
	for b.Loop() {
		if _, err := gateway.WriteFile(ctx(b), c, p, bytes.NewReader(data), 0); err != nil {
			b.Fatal(err)
		}
		r, _, err := gateway.ReadFile(ctx(b), c, p)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r)
		r.Close()
	}
}

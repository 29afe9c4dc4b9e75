package codepod_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

// syncBuf is a buffer the stream's goroutine writes and the test reads.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) add(p []byte) { s.mu.Lock(); s.b.Write(p); s.mu.Unlock() }
func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProcesses(t *testing.T) {
	c := newClient(t)
	sb := newSandbox(t, c)
	ctx := t.Context()

	var out, errs syncBuf
	h, err := sb.Process().Start(ctx, codepod.Shell(`echo start; echo warn >&2; while read l; do echo "got $l"; done`),
		&codepod.ProcessOptions{OnStdout: out.add, OnStderr: errs.add})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	list, err := sb.Process().List(ctx)
	if err != nil || len(list) == 0 || int(list[len(list)-1].Pid) != h.PID {
		t.Fatalf("List = %+v, %v; want pid %d last", list, err, h.PID)
	}
	if err := h.SendStdin(ctx, []byte("a\n")); err != nil {
		t.Fatal(err)
	}

	// A second client reattaches by pid and reads what the first wrote.
	c2 := newClient(t)
	sb2, err := c2.Sandbox(ctx, sb.ID())
	if err != nil {
		t.Fatal(err)
	}
	var out2 syncBuf
	h2, err := sb2.Process().Connect(ctx, h.PID, &codepod.ProcessOptions{OnStdout: out2.add})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if err := h2.SendStdin(ctx, []byte("b\n")); err != nil {
		t.Fatal(err)
	}
	if err := h2.CloseStdin(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := h.Wait(ctx)
	if err != nil || info.ExitCode == nil || *info.ExitCode != 0 {
		t.Fatalf("Wait = %+v, %v", info, err)
	}
	if _, err := h2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	const want = "start\ngot a\ngot b\n"
	if out.String() != want || out2.String() != want || errs.String() != "warn\n" {
		t.Errorf("stdout %q (second client %q), stderr %q; want %q", out.String(), out2.String(), errs.String(), want)
	}
	o, err := h2.Output(ctx, "stdout", 6)
	if err != nil || string(o.Data) != "got a\ngot b\n" || !o.EOF {
		t.Errorf("Output from 6 = %+v, %v", o, err)
	}

	t.Run("signal and kill", func(t *testing.T) {
		k, err := sb.Process().Start(ctx, []string{"sleep", "1000"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Signal(ctx, "SIGSTOP"); err != nil {
			t.Fatal(err)
		}
		info, err := k.Kill(ctx)
		if err != nil || info.Status != "exited" || info.Signal == nil || *info.Signal != "KILL" {
			t.Errorf("Kill = %+v, %v", info, err)
		}
	})
	t.Run("unknown pid", func(t *testing.T) {
		_, err := sb.Process().Connect(ctx, 999999, nil)
		if !errors.Is(err, codepod.ErrNotFound) || !strings.Contains(err.Error(), "999999") {
			t.Errorf("Connect(999999) = %v, want ErrNotFound naming the pid", err)
		}
	})
}

package gateway_test

import (
	"context"
	"errors"
	osexec "os/exec"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent/kernel"
	"github.com/codepod-dev/codepod/gateway"
)

// TestCode runs code contexts through the agent's codepod-code subsystem:
// state kept, errors as codes, and a client that goes away interrupting
// its cell without costing the context its state.
func TestCode(t *testing.T) {
	if _, err := osexec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	sb := newSandbox(t)
	c := sb.client(t)
	run := func(code string) *kernel.Result {
		t.Helper()
		rep, err := gateway.Code(ctx(t), c, kernel.Request{Op: "run", Language: "python", Code: code})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Result
	}
	run("x = 41")

	// The request's context ends while the cell loops: the agent
	// interrupts the cell, and the context keeps x.
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := gateway.Code(short, c, kernel.Request{Op: "run", Language: "python", Code: "while True: pass"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a cancelled cell: %v", err)
	}
	if r := run("x + 1"); len(r.Results) != 1 || r.Results[0]["text/plain"] != "42" || r.Restarted {
		t.Fatalf("after the cancelled cell: %+v", r)
	}

	_, err = gateway.Code(ctx(t), c, kernel.Request{Op: "run", Context: "ctx_missing", Code: "1"})
	wantCode(t, err, codepod.ENOTFOUND, "ctx_missing")
	_, err = gateway.Code(ctx(t), c, kernel.Request{Op: "create", Language: "cobol"})
	wantCode(t, err, codepod.EINVALID, "cobol")
	rep, err := gateway.Code(ctx(t), c, kernel.Request{Op: "list"})
	if err != nil || len(rep.Contexts) != 1 || rep.Contexts[0].ID != "default-python" {
		t.Fatalf("list: %+v, %v", rep, err)
	}
}

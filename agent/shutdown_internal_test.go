package agent

import (
	"io"
	"log/slog"
	"testing"
)

// TestAttachShutdown: with shutdownAction stopContainer the status asks
// for a stop only when the last of several terminals closes, and a new
// terminal withdraws the request; with none it never asks.
func TestAttachShutdown(t *testing.T) {
	a := &Agent{cfg: Config{Devcontainer: &Devcontainer{ShutdownAction: "stopContainer"}}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), lc: newLifecycle()}
	shutdown := func() string {
		a.lc.mu.Lock()
		defer a.lc.mu.Unlock()
		return a.lc.st.Shutdown
	}
	one, two := a.attach(), a.attach()
	one()
	if got := shutdown(); got != "" {
		t.Fatalf("one of two terminals closed: shutdown %q", got)
	}
	two()
	if got := shutdown(); got != ShutdownReason {
		t.Fatalf("the last terminal closed: shutdown %q", got)
	}
	three := a.attach()
	if got := shutdown(); got != "" {
		t.Fatalf("a new terminal: shutdown %q", got)
	}
	three()
	if got := shutdown(); got != ShutdownReason {
		t.Fatalf("the last terminal closed again: shutdown %q", got)
	}

	b := &Agent{cfg: Config{Devcontainer: &Devcontainer{ShutdownAction: "none"}}, log: a.log, lc: newLifecycle()}
	b.attach()()
	if b.lc.st.Shutdown != "" {
		t.Fatalf("shutdownAction none asked for a stop")
	}
}

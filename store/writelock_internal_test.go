package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
)

// queued waits until l has n waiters.
func (l *writeLock) queued(t *testing.T, n int) {
	t.Helper()
	for {
		l.mu.Lock()
		got := len(l.urgent) + len(l.normal)
		l.mu.Unlock()
		if got == n {
			return
		}
		if got > n {
			t.Fatalf("%d waiters, want %d", got, n)
		}
		runtime.Gosched()
	}
}

// TestWriteLockServesUrgentFirst queues ordinary and urgent waiters behind
// a held lock and checks the order they get it in: urgent first, but never
// more than urgentRun of them in a row past a waiting ordinary one.
func TestWriteLockServesUrgentFirst(t *testing.T) {
	l := newWriteLock()
	ctx := context.Background()
	if err := l.lock(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 16)
	waiter := func(name string, urgent bool) {
		if err := l.lock(ctx, urgent); err != nil {
			order <- "error: " + err.Error()
			return
		}
		order <- name
		l.unlock()
	}
	// Queue one at a time so the arrival order is known.
	go waiter("n1", false)
	l.queued(t, 1)
	go waiter("n2", false)
	l.queued(t, 2)
	for i := 1; i <= urgentRun+2; i++ {
		go waiter(fmt.Sprintf("u%d", i), true)
		l.queued(t, 2+i)
	}
	l.unlock()
	var got []string
	for range 2 + urgentRun + 2 {
		got = append(got, <-order)
	}
	want := []string{"u1", "u2", "u3", "u4", "n1", "u5", "u6", "n2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	// Free again: a lock takes it at once.
	if err := l.lock(ctx, false); err != nil {
		t.Fatal(err)
	}
	l.unlock()
}

// TestWriteLockCancelledWaiter checks that a waiter whose context ends
// gives up with the context's error and leaves the lock usable.
func TestWriteLockCancelledWaiter(t *testing.T) {
	l := newWriteLock()
	if err := l.lock(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.lock(ctx, true) }()
	l.queued(t, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled lock: %v, want context.Canceled", err)
	}
	l.queued(t, 0)
	l.unlock()
	if err := l.lock(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	l.unlock()
	if l.held {
		t.Fatal("lock still held after its last unlock")
	}
}

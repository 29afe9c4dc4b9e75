package store

import (
	"context"
	"fmt"
	"sync"
)

// writeLock lets one SQLite write transaction of this process run at a time.
// SQLite has a single writer anyway; queueing here, in Go, replaces the
// busy handler's sleep-and-retry with a direct hand-over, which keeps
// latency flat when many goroutines claim jobs at once. Other processes on
// the same file are still held off by the busy timeout.
//
// Waiters are served first come, first served, except that urgent ones
// (writeprio.Urgent: a woken poll claiming its jobs) go before the others,
// so a job's delivery waits for the transaction in progress, not for the
// creates, results and heartbeats queued before it. At most urgentRun
// urgent transactions in a row pass a waiting ordinary one, so a stream of
// claims cannot starve the creates that make them.
type writeLock struct {
	mu        sync.Mutex
	held      bool
	urgent    []chan struct{}
	normal    []chan struct{}
	urgentRow int // urgent hand-overs in a row while an ordinary waiter waited
}

const urgentRun = 4

func newWriteLock() *writeLock { return &writeLock{} }

func (l *writeLock) lock(ctx context.Context, urgent bool) error {
	l.mu.Lock()
	if !l.held {
		l.held = true
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if urgent {
		l.urgent = append(l.urgent, ch)
	} else {
		l.normal = append(l.normal, ch)
	}
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	removed := remove(&l.urgent, ch) || remove(&l.normal, ch)
	l.mu.Unlock()
	if !removed { // handed over meanwhile: pass it on
		<-ch
		l.unlock()
	}
	return fmt.Errorf("wait for the database writer: %w", ctx.Err())
}

// remove drops ch from q and reports whether it was there.
func remove(q *[]chan struct{}, ch chan struct{}) bool {
	for i, c := range *q {
		if c == ch {
			*q = append((*q)[:i], (*q)[i+1:]...)
			return true
		}
	}
	return false
}

// unlock hands the writer to the next waiter, urgent ones first.
func (l *writeLock) unlock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var next chan struct{}
	switch {
	case len(l.urgent) > 0 && (len(l.normal) == 0 || l.urgentRow < urgentRun):
		next, l.urgent = l.urgent[0], l.urgent[1:]
		if len(l.normal) > 0 {
			l.urgentRow++
		}
	case len(l.normal) > 0:
		next, l.normal = l.normal[0], l.normal[1:]
		l.urgentRow = 0
	default:
		l.held = false
		return
	}
	close(next)
}

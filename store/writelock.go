package store

import (
	"context"
	"fmt"
)

// writeLock lets one SQLite write transaction of this process run at a time.
// SQLite has a single writer anyway; queueing here, in Go, replaces the
// busy handler's sleep-and-retry with a direct hand-over, which keeps
// latency flat when many goroutines claim jobs at once. Other processes on
// the same file are still held off by the busy timeout.
type writeLock struct{ ch chan struct{} }

func newWriteLock() *writeLock { return &writeLock{ch: make(chan struct{}, 1)} }

func (l *writeLock) lock(ctx context.Context) error {
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the database writer: %w", ctx.Err())
	}
}

func (l *writeLock) unlock() { <-l.ch }

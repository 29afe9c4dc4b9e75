package api

import (
	"context"
	"errors"
	"sync/atomic"
)

// errHashBusy: every hashing slot is taken and the queue is full.
var errHashBusy = errors.New("password hashing queue is full")

// hashGate bounds the password hashes (argon2id, 19 MiB each) computed at
// once, and how many requests may wait for a turn.
type hashGate struct {
	slots   chan struct{}
	queue   int64
	waiting atomic.Int64
}

func newHashGate(slots, queue int) *hashGate {
	return &hashGate{slots: make(chan struct{}, slots), queue: int64(queue)}
}

// enter waits for a hashing slot as long as ctx lets it; it fails at once
// with errHashBusy when the queue is full. Call release when done.
func (g *hashGate) enter(ctx context.Context) (release func(), err error) {
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		return nil, errHashBusy
	}
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

package runner

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff yields growing, jittered waits for retrying a server that is away:
// base, 2×base, 4×base … up to max, each drawn from [d/2, d) so that many
// runners coming back after an outage do not retry in step.
type backoff struct {
	base, max time.Duration
	n         int
}

func newBackoff(max time.Duration) *backoff {
	base := 250 * time.Millisecond
	if base > max {
		base = max
	}
	return &backoff{base: base, max: max}
}

// next returns the wait before the next attempt.
func (b *backoff) next() time.Duration {
	d := b.max
	if b.n < 30 {
		if e := b.base << b.n; e < b.max {
			d = e
		}
	}
	b.n++
	half := d / 2
	return half + rand.N(d-half+1)
}

// reset starts over after a success.
func (b *backoff) reset() { b.n = 0 }

// failures is how many attempts have failed in a row.
func (b *backoff) failures() int { return b.n }

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

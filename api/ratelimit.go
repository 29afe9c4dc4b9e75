package api

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyedLimiter is a token bucket (golang.org/x/time/rate) per key: a client
// address, an API key id, an email. It remembers at most max keys: a key
// whose bucket is full again is idle and forgotten at the next sweep, and
// when the map is full of busy keys some are dropped (which only forgives
// them early).
type keyedLimiter struct {
	limit rate.Limit
	burst int
	max   int
	now   func() time.Time

	mu        sync.Mutex
	entries   map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	lim *rate.Limiter
}

// sweepEvery is how often a limiter forgets its idle keys.
const sweepEvery = time.Minute

func newKeyedLimiter(limit rate.Limit, burst, max int) *keyedLimiter {
	return &keyedLimiter{limit: limit, burst: burst, max: max, now: time.Now, entries: map[string]*limiterEntry{}}
}

// allow takes one token from key's bucket; when there is none it takes
// nothing and returns how long until there is one.
func (k *keyedLimiter) allow(key string) (ok bool, wait time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	e := k.entry(key, now)
	if e.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, k.waitFor(e, now)
}

// blocked reports, without taking a token, whether key's bucket is empty
// and how long until it has a token again.
func (k *keyedLimiter) blocked(key string) (wait time.Duration, blocked bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.entries[key]
	if !ok {
		return 0, false
	}
	now := k.now()
	if e.lim.TokensAt(now) >= 1 {
		return 0, false
	}
	return k.waitFor(e, now), true
}

// take records one failure for key (its bucket may go empty).
func (k *keyedLimiter) take(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.entry(key, now).lim.AllowN(now, 1)
}

func (k *keyedLimiter) waitFor(e *limiterEntry, now time.Time) time.Duration {
	missing := 1 - e.lim.TokensAt(now)
	return time.Duration(missing / float64(k.limit) * float64(time.Second))
}

// entry returns key's bucket, making it (and making room) if needed.
func (k *keyedLimiter) entry(key string, now time.Time) *limiterEntry {
	e, ok := k.entries[key]
	if !ok {
		if len(k.entries) >= k.max || now.Sub(k.lastSweep) > sweepEvery {
			k.sweep(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(k.limit, k.burst)}
		k.entries[key] = e
	}
	return e
}

// sweep forgets idle keys; if the map is still full of busy ones, it
// forgets a tenth of them (map order: arbitrary ones), so a spray of new
// addresses costs one sweep per max/10 keys, not one per key.
func (k *keyedLimiter) sweep(now time.Time) {
	k.lastSweep = now
	for key, e := range k.entries {
		if e.lim.TokensAt(now) >= float64(k.burst) {
			delete(k.entries, key)
		}
	}
	if len(k.entries) < k.max {
		return
	}
	target := k.max - max(k.max/10, 1)
	for key := range k.entries {
		if len(k.entries) <= target {
			break
		}
		delete(k.entries, key)
	}
}

// size is the number of keys remembered (for tests and metrics).
func (k *keyedLimiter) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.entries)
}

// clientAddress is the host part of a request's remote address: rate
// limits are per address, not per connection. (Behind a reverse proxy
// every client shares the proxy's address; see docs/limits.md.)
func clientAddress(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64" // one IPv6 client holds a /64
	}
	return host
}

package api

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestKeyedLimiterStaysBounded sprays failures from 100,000 addresses at a
// limiter that may remember 1,000: it never holds more, and a key it kept
// is still refused.
func TestKeyedLimiterStaysBounded(t *testing.T) {
	now := time.Unix(1e9, 0)
	k := newKeyedLimiter(rate.Every(time.Second), 2, 1000)
	k.now = func() time.Time { return now }
	for i := range 100000 {
		k.take(fmt.Sprintf("addr:10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
		if k.size() > 1000 {
			t.Fatalf("%d keys after %d failures", k.size(), i+1)
		}
	}
	k.take("addr:victim")
	k.take("addr:victim")
	if _, blocked := k.blocked("addr:victim"); !blocked {
		t.Fatal("a key with an empty bucket is not blocked")
	}
	if wait, _ := k.blocked("addr:victim"); wait <= 0 || wait > time.Second {
		t.Errorf("wait %s, want up to the 1s refill", wait)
	}
	now = now.Add(time.Hour) // everyone is idle again
	k.take("addr:new")
	if k.size() > 1000 {
		t.Errorf("%d keys", k.size())
	}
	now = now.Add(2 * sweepEvery)
	k.take("addr:later")
	if n := k.size(); n > 2 {
		t.Errorf("idle keys were not forgotten: %d left", n)
	}
}

func TestClientAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:5555":             "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"not-an-address":             "not-an-address",
	} {
		if got := clientAddress(in); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

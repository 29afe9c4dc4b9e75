package runner

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterUpToItsCap(t *testing.T) {
	b := newBackoff(10 * time.Second)
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, d := range want {
		got := b.next()
		if got < d/2 || got > d {
			t.Fatalf("wait %d = %s, want within [%s, %s]", i, got, d/2, d)
		}
	}
	for range 100 {
		b.next() // no overflow after many failures
	}
	if got := b.next(); got < 5*time.Second || got > 10*time.Second {
		t.Fatalf("wait after many failures = %s", got)
	}
	b.reset()
	if got := b.next(); got > 250*time.Millisecond {
		t.Fatalf("wait after reset = %s", got)
	}
}

func TestLeaseKeepaliveIsAThirdOfTheLease(t *testing.T) {
	cases := map[time.Duration]time.Duration{
		60 * time.Second: 20 * time.Second,
		3 * time.Second:  time.Second,
		time.Second:      500 * time.Millisecond, // floor
		10 * time.Minute: 20 * time.Second,       // ceiling
		0:                20 * time.Second,       // unknown: assume 60s
		-time.Minute:     20 * time.Second,       // clock skew
	}
	for lease, want := range cases {
		if got := leaseKeepalive(lease); got != want {
			t.Errorf("keepalive for a %s lease = %s, want %s", lease, got, want)
		}
	}
}

func TestWhichErrorsAreRetried(t *testing.T) {
	cases := []struct {
		err   error
		retry bool
	}{
		{errors.New("dial tcp: connection refused"), true},
		{&StatusError{Status: http.StatusBadGateway}, true},
		{&StatusError{Status: http.StatusTooManyRequests}, true},
		{&StatusError{Status: http.StatusNotFound}, false},
		{&StatusError{Status: http.StatusConflict}, false},
		{&StatusError{Status: http.StatusUnauthorized}, false},
	}
	for _, c := range cases {
		if got := retryable(c.err); got != c.retry {
			t.Errorf("retryable(%v) = %v, want %v", c.err, got, c.retry)
		}
	}
}

package sshws

import (
	"testing"
	"time"
)

// Accept and Dial pass their PingInterval through as is; zero must keep
// pings on.
func TestPingDefaults(t *testing.T) {
	tests := []struct {
		name               string
		opts               []Option
		interval, deadline time.Duration
	}{
		{"no option", nil, DefaultPingInterval, DefaultPingInterval},
		{"zero", []Option{WithPingInterval(0)}, DefaultPingInterval, DefaultPingInterval},
		{"set", []Option{WithPingInterval(time.Second)}, time.Second, time.Second},
		{"set with timeout", []Option{WithPingInterval(time.Second), WithPingTimeout(3 * time.Second)}, time.Second, 3 * time.Second},
		{"off", []Option{WithPingInterval(-1)}, -1, -1},
	}
	for _, tt := range tests {
		cfg := newConnConfig(tt.opts)
		if cfg.pingInterval != tt.interval || (tt.interval > 0 && cfg.pingTimeout != tt.deadline) {
			t.Errorf("%s: interval %v timeout %v, want %v %v", tt.name, cfg.pingInterval, cfg.pingTimeout, tt.interval, tt.deadline)
		}
	}
}

package api

import (
	"testing"
	"time"
)

func TestParseWait(t *testing.T) {
	cases := map[string]time.Duration{
		"": 0, "0": 0, "60s": time.Minute, "60": time.Minute, "1.5": 1500 * time.Millisecond,
		"2m": 2 * time.Minute, "10m": MaxCreateWait, "100000": MaxCreateWait, "1e300": MaxCreateWait,
	}
	for in, want := range cases {
		if got, err := parseWait(in); err != nil || got != want {
			t.Errorf("parseWait(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"soon", "-1s", "-3", "NaN"} {
		if got, err := parseWait(bad); err == nil {
			t.Errorf("parseWait(%q) = %s; want an error", bad, got)
		}
	}
}

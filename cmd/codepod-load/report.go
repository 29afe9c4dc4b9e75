package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// percentiles of a set of latencies, in milliseconds.
type percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func percentilesOf(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(s))), len(s)-1)
		return float64(s[i].Microseconds()) / 1000
	}
	return percentiles{N: len(s), P50: at(0.50), P99: at(0.99), Max: at(1)}
}

func (p percentiles) String() string {
	return fmt.Sprintf("p50 %.1f ms  p99 %.1f ms  max %.1f ms  (n=%d)", p.P50, p.P99, p.Max, p.N)
}

// report is what one run measured.
type report struct {
	Database              string      `json:"database"`
	Runners               int         `json:"runners"`
	Sandboxes             int         `json:"sandboxes"`
	Baseline              int         `json:"baseline_sandboxes"`
	BaselineRunners       int         `json:"baseline_runners"`
	Concurrency           int         `json:"concurrency"`
	BaselinePerSec        float64     `json:"baseline_creates_per_sec"`
	BaselineCreate        percentiles `json:"baseline_create"`
	RegisterSeconds       float64     `json:"register_seconds"`
	IdleRSS               int64       `json:"idle_rss_bytes"`
	IdleGoroutines        int         `json:"idle_goroutines"`
	PerSec                float64     `json:"creates_per_sec"`
	Ratio                 float64     `json:"create_ratio"`
	Create                percentiles `json:"create"`
	Delivery              percentiles `json:"delivery"`
	DeliveryAfter         percentiles `json:"delivery_after_answer"`
	BaselineDeliveryAfter percentiles `json:"baseline_delivery_after_answer"`
	List                  percentiles `json:"list_page"`
	Pages                 int         `json:"pages"`
	Exec                  percentiles `json:"exec"`
	RSS                   int64       `json:"rss_bytes"`
	PeakRSS               int64       `json:"peak_rss_bytes"`
	Goroutines            int         `json:"goroutines"`
	PollErrors            int64       `json:"poll_errors"`
	LastPollError         string      `json:"last_poll_error,omitempty"`
}

func (r *report) print(w io.Writer) {
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	fmt.Fprintf(w, "database %s, %d runners, %d sandboxes (+%d baseline), %d clients\n", r.Database, r.Runners, r.Sandboxes, r.Baseline, r.Concurrency)
	fmt.Fprintf(w, "empty server (%d runners): %.0f creates/s; create %s\n", r.BaselineRunners, r.BaselinePerSec, r.BaselineCreate)
	fmt.Fprintf(w, "registered %d runners in %.1fs; all polling: RSS %.0f MB, %d goroutines\n", r.Runners, r.RegisterSeconds, mb(r.IdleRSS), r.IdleGoroutines)
	fmt.Fprintf(w, "at scale:                 %.0f creates/s (%.2f× empty); create %s\n", r.PerSec, r.Ratio, r.Create)
	fmt.Fprintf(w, "poll-to-delivery (from the create request): %s\n", r.Delivery)
	fmt.Fprintf(w, "poll-to-delivery (from the create's answer): %s; empty server %s\n", r.DeliveryAfter, r.BaselineDeliveryAfter)
	fmt.Fprintf(w, "list (%d pages):          %s\n", r.Pages, r.List)
	if r.Exec.N > 0 {
		fmt.Fprintf(w, "exec true (REST, real runner): %s\n", r.Exec)
	}
	fmt.Fprintf(w, "server RSS %.0f MB (peak %.0f MB), %d goroutines; poll errors %d %s\n", mb(r.RSS), mb(r.PeakRSS), r.Goroutines, r.PollErrors, r.LastPollError)
}

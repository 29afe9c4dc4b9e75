package control_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// BenchmarkEnqueueToDelivery measures the time from CreateSandbox to the
// return of the poll that waits for the runner's jobs: the transaction that
// places the sandbox and enqueues its create job, the wake-up and the claim.
// It also reports the part after CreateSandbox returned (the wake-up and
// claim alone) as p50 and p99.
func BenchmarkEnqueueToDelivery(b *testing.B) {
	for _, db := range databases {
		b.Run(db.name, func(b *testing.B) {
			cfg := testConfig()
			cfg.Lease = time.Minute
			e := newEnv(b, db.url(b), cfg)
			r := e.runner("r1", nil, wire.Capacity{})
			jobs := make(chan wire.Job)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				defer close(jobs)
				for ctx.Err() == nil {
					resp, err := e.svc.Poll(ctx, r, wire.PollRequest{WaitSeconds: 20})
					if err != nil {
						return
					}
					for _, j := range resp.Jobs {
						jobs <- j
					}
				}
			}()
			after := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				sb, err := e.svc.CreateSandbox(e.ctx, e.alice, fmt.Sprintf("b%d", i), codepod.SandboxSpec{})
				if err != nil {
					b.Fatal(err)
				}
				created := time.Now()
				j := <-jobs
				after = append(after, time.Since(created))
				b.StopTimer()
				if j.SandboxID != sb.ID {
					b.Fatalf("got the job of %s; want %s", j.SandboxID, sb.ID)
				}
				if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{OK: true}); err != nil {
					b.Fatal(err)
				}
				time.Sleep(5 * time.Millisecond) // the poller is waiting again
				b.StartTimer()
			}
			b.StopTimer()
			sort.Slice(after, func(i, j int) bool { return after[i] < after[j] })
			b.ReportMetric(float64(after[len(after)/2].Microseconds()), "wake-p50-µs")
			b.ReportMetric(float64(after[len(after)*99/100].Microseconds()), "wake-p99-µs")
			cancel()
			for range jobs {
			}
		})
	}
}

// BenchmarkConcurrentCreate creates sandboxes from 8 goroutines at once on
// 8 runners, each create carrying an audit entry as the API's do: what one
// process's creates cost when they run side by side (placement, the
// quota-free create transaction, the audit chain's append and the commit).
// ns/op is wall time per create with 8 in flight.
func BenchmarkConcurrentCreate(b *testing.B) {
	for _, db := range databases {
		b.Run(db.name, func(b *testing.B) {
			cfg := testConfig()
			cfg.Lease = time.Minute
			cfg.RunnerTimeout = time.Hour
			e := newEnv(b, db.url(b), cfg)
			for i := range 8 {
				e.runner(fmt.Sprintf("r%d", i), nil, wire.Capacity{})
			}
			var n atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range 8 {
				wg.Go(func() {
					for i := n.Add(1); i <= int64(b.N); i = n.Add(1) {
						ctx := codepod.WithPendingAudit(e.ctx, codepod.NewPendingAudit(codepod.AuditEvent{
							ActorUserID: e.alice.ID, Action: "sandbox.create", TargetType: "sandbox"}))
						if _, err := e.svc.CreateSandbox(ctx, e.alice, fmt.Sprintf("c%d", i), codepod.SandboxSpec{}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

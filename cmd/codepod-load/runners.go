package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

// fleet is the simulated runners: each long-polls the server and answers
// every job at once with success, as a runner whose Docker never fails.
type fleet struct {
	c        *client
	token    string
	capacity int

	wg      sync.WaitGroup
	errors  atomic.Int64
	lastErr atomic.Value // string

	// sent holds the start of each create request by sandbox name;
	// delivered records when the create job of that name reached a runner.
	sent      sync.Map // name → time.Time
	mu        sync.Mutex
	delivery  []time.Duration
	arrived   map[string]time.Time // name → when its create job reached a runner
	wantCount int
	reached   chan struct{}
}

// register registers n runners (concurrently) and starts their polls; it
// returns once each has answered its first poll.
func (f *fleet) register(ctx context.Context, n, workers int, offset int) error {
	first := make(chan struct{}, n)
	errs := make(chan error, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var resp wire.RegisterResponse
				req := wire.RegisterRequest{Name: fmt.Sprintf("sim-%d", offset+i), Capacity: wire.Capacity{Sandboxes: f.capacity}, Runtimes: []string{"runc"}}
				if err := f.c.do(ctx, http.MethodPost, "/api/v1/runners/register", f.token, req, &resp, http.StatusCreated); err != nil {
					errs <- err
					continue
				}
				f.wg.Add(1)
				go f.poll(ctx, resp.Credential, first)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("register runner: %w", err)
	}
	for range n {
		select {
		case <-first:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// poll is one runner's loop until ctx ends. Its first poll reconciles an
// empty inventory, as a fresh runner's does, and is held 1s at most; the
// others are held 25s, as a real runner's are.
func (f *fleet) poll(ctx context.Context, cred string, first chan<- struct{}) {
	defer f.wg.Done()
	reconcile := true
	for ctx.Err() == nil {
		req := wire.PollRequest{Capacity: wire.Capacity{Sandboxes: f.capacity}, Runtimes: []string{"runc"},
			Reconcile: reconcile, WaitSeconds: 25, MaxJobs: 100}
		if reconcile {
			req.WaitSeconds = 1 // the first answer tells register this runner polls
		}
		var resp wire.PollResponse
		if err := f.c.do(ctx, http.MethodPost, "/api/v1/runners/poll", cred, req, &resp, http.StatusOK); err != nil {
			if ctx.Err() == nil {
				f.fail(err)
				time.Sleep(100 * time.Millisecond) // a real runner backs off too
			}
			continue
		}
		at := time.Now()
		if reconcile {
			reconcile = false
			first <- struct{}{}
		}
		for _, j := range resp.Jobs {
			f.delivered(j, at)
			res := wire.JobResult{OK: true}
			if j.Kind == wire.KindCreate || j.Kind == wire.KindStart {
				res.HostKeyFingerprint = "SHA256:c2ltdWxhdGVkLXJ1bm5lci1ob3N0LWtleS1maW5nZXI"
				res.ContainerID = "sim-" + j.SandboxID
			}
			if err := f.c.do(ctx, http.MethodPost, "/api/v1/runners/jobs/"+j.ID+"/result", cred, res, nil, http.StatusNoContent); err != nil && ctx.Err() == nil {
				f.fail(err)
			}
		}
	}
}

func (f *fleet) fail(err error) {
	f.errors.Add(1)
	f.lastErr.Store(err.Error())
}

// delivered records the delay from a create's request to its job's
// arrival at a runner.
func (f *fleet) delivered(j wire.Job, at time.Time) {
	if j.Kind != wire.KindCreate || j.Sandbox == nil {
		return
	}
	v, ok := f.sent.LoadAndDelete(j.Sandbox.Name)
	if !ok {
		return // a second delivery
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivery = append(f.delivery, at.Sub(v.(time.Time)))
	f.arrived[j.Sandbox.Name] = at
	if len(f.delivery) == f.wantCount && f.reached != nil {
		close(f.reached)
		f.reached = nil
	}
}

// expect resets the delivery record and returns a channel closed when n
// creates have been delivered.
func (f *fleet) expect(n int) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivery, f.wantCount, f.arrived = nil, n, map[string]time.Time{}
	ch := make(chan struct{})
	f.reached = ch
	return ch
}

// afterAnswer returns, for each create answered at answered[name], how
// long after the answer its job reached a runner (0 when it came first).
func (f *fleet) afterAnswer(answered map[string]time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Duration, 0, len(f.arrived))
	for name, at := range f.arrived {
		if t, ok := answered[name]; ok {
			out = append(out, max(at.Sub(t), 0))
		}
	}
	return out
}

func (f *fleet) deliveries() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delivery...)
}

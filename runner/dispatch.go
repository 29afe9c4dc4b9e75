package runner

import (
	"context"
	"sync"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

// queuedJob is a job the runner holds, waiting or running. Its lease is
// kept alive by progress reports until done is closed.
type queuedJob struct {
	job      wire.Job
	received time.Time
	ctx      context.Context // ends when the job is finished or dropped
	finish   context.CancelFunc
	progress func(msg string) // throttled progress report
}

// dispatcher runs jobs with bounded concurrency, one at a time per sandbox
// in arrival order, and ignores a job id it already holds (a redelivery of a
// job whose lease ran out while it waited).
type dispatcher struct {
	run   func(*queuedJob)
	slots chan struct{}
	stop  chan struct{} // closed by close: queued jobs are dropped
	freed chan struct{} // a send on every finished job (never blocks)

	mu      sync.Mutex
	queues  map[string][]*queuedJob // by sandbox id (tunnels: by job id)
	held    map[string]bool         // job ids queued or running
	running int
	closed  bool
	wg      sync.WaitGroup
}

func newDispatcher(concurrency int, run func(*queuedJob)) *dispatcher {
	return &dispatcher{
		run: run, slots: make(chan struct{}, concurrency), stop: make(chan struct{}),
		freed: make(chan struct{}, 1), queues: map[string][]*queuedJob{}, held: map[string]bool{},
	}
}

// submit queues j; it reports false when j is already held or the
// dispatcher is closed.
func (d *dispatcher) submit(j *queuedJob) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.held[j.job.ID] {
		return false
	}
	d.held[j.job.ID] = true
	key := j.job.SandboxID
	if j.job.Kind == wire.KindTunnel || key == "" {
		key = "job:" + j.job.ID
	}
	d.queues[key] = append(d.queues[key], j)
	if len(d.queues[key]) == 1 {
		d.wg.Add(1)
		go d.worker(key)
	}
	return true
}

// worker drains one sandbox's queue.
func (d *dispatcher) worker(key string) {
	defer d.wg.Done()
	for {
		j := d.front(key)
		if j == nil {
			return
		}
		if d.acquire() {
			d.run(j)
			d.release()
		}
		d.pop(key, j)
	}
}

func (d *dispatcher) front(key string) *queuedJob {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queues[key]
	if len(q) == 0 {
		delete(d.queues, key)
		return nil
	}
	return q[0]
}

func (d *dispatcher) pop(key string, j *queuedJob) {
	j.finish()
	d.mu.Lock()
	d.queues[key] = d.queues[key][1:]
	delete(d.held, j.job.ID)
	d.mu.Unlock()
	select {
	case d.freed <- struct{}{}:
	default:
	}
}

// acquire takes a slot; it fails once the dispatcher is closed, so a job
// that has not started is dropped.
func (d *dispatcher) acquire() bool {
	select {
	case <-d.stop:
		return false
	default:
	}
	select {
	case d.slots <- struct{}{}:
	case <-d.stop:
		return false
	}
	d.mu.Lock()
	d.running++
	d.mu.Unlock()
	return true
}

func (d *dispatcher) release() {
	d.mu.Lock()
	d.running--
	d.mu.Unlock()
	<-d.slots
}

// free is how many more jobs could start now.
func (d *dispatcher) free() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return cap(d.slots) - len(d.held)
}

// waitFree waits until a slot is free, up to limit or ctx's end.
func (d *dispatcher) waitFree(ctx context.Context, limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for d.free() <= 0 {
		select {
		case <-d.freed:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// close stops accepting and starting jobs; it returns how many run now.
func (d *dispatcher) close() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	return d.running
}

// wait waits for every worker to return, up to limit (0: without limit);
// it reports whether they all did.
func (d *dispatcher) wait(limit time.Duration) bool {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	if limit <= 0 {
		<-done
		return true
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

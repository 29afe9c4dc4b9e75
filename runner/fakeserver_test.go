package runner_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

// fakeServer implements just the runner endpoints of package wire, for the
// runner's own tests of registration, retries, backoff and shutdown. The
// lead's end-to-end tests run the runner against the real server.
type fakeServer struct {
	*httptest.Server
	token string

	down          atomic.Bool  // drop every connection, like a server that is away
	droppedPolls  atomic.Int32 // polls dropped while down
	rejectPolls   atomic.Bool  // answer polls with 401
	registrations atomic.Int32

	mu       sync.Mutex
	creds    map[string]string // credential → runner id
	polls    []pollSeen
	queue    []wire.Job
	wake     chan struct{}
	progress map[string][]string // job id → messages
	results  map[string]wire.JobResult
	resultCh chan string
}

type pollSeen struct {
	RunnerID string
	Req      wire.PollRequest
	At       time.Time
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{token: "cpt_good", creds: map[string]string{}, wake: make(chan struct{}, 1),
		progress: map[string][]string{}, results: map[string]wire.JobResult{}, resultCh: make(chan string, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/runners/register", f.register)
	mux.HandleFunc("POST /api/v1/runners/poll", f.poll)
	mux.HandleFunc("POST /api/v1/runners/jobs/{id}/progress", f.jobProgress)
	mux.HandleFunc("POST /api/v1/runners/jobs/{id}/result", f.jobResult)
	f.Server = httptest.NewServer(f.maybeDown(mux))
	t.Cleanup(f.Close)
	return f
}

// maybeDown drops the connection without an answer while the server is down.
func (f *fakeServer) maybeDown(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			if strings.HasSuffix(r.URL.Path, "/poll") {
				f.droppedPolls.Add(1)
			}
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (f *fakeServer) register(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		problem(w, http.StatusUnauthorized, "registration token is wrong or expired")
		return
	}
	var req wire.RegisterRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
		problem(w, http.StatusUnprocessableEntity, "bad register request")
		return
	}
	n := f.registrations.Add(1)
	id, cred := "rn_fake"+string(rune('a'+n)), "cpr_fake_secret_"+string(rune('a'+n))
	f.mu.Lock()
	f.creds[cred] = id
	f.mu.Unlock()
	writeJSON(w, wire.RegisterResponse{RunnerID: id, Credential: cred})
}

// runner authenticates the runner credential.
func (f *fakeServer) runner(w http.ResponseWriter, r *http.Request) (string, bool) {
	f.mu.Lock()
	id, ok := f.creds[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	f.mu.Unlock()
	if !ok || f.rejectPolls.Load() {
		problem(w, http.StatusUnauthorized, "runner credential is not valid")
		return "", false
	}
	return id, true
}

// poll holds the request until a job is queued or WaitSeconds pass.
func (f *fakeServer) poll(w http.ResponseWriter, r *http.Request) {
	id, ok := f.runner(w, r)
	if !ok {
		return
	}
	var req wire.PollRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		problem(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	f.mu.Lock()
	f.polls = append(f.polls, pollSeen{RunnerID: id, Req: req, At: time.Now()})
	f.mu.Unlock()
	timer := time.NewTimer(time.Duration(req.WaitSeconds) * time.Second)
	defer timer.Stop()
	for {
		if jobs := f.take(req.MaxJobs); len(jobs) > 0 {
			writeJSON(w, wire.PollResponse{Jobs: jobs})
			return
		}
		select {
		case <-f.wake:
		case <-timer.C:
			writeJSON(w, wire.PollResponse{Jobs: []wire.Job{}})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeServer) take(max int) []wire.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := min(max, len(f.queue))
	jobs := f.queue[:n:n]
	f.queue = f.queue[n:]
	return jobs
}

// enqueue delivers jobs to the next (or the waiting) poll.
func (f *fakeServer) enqueue(jobs ...wire.Job) {
	f.mu.Lock()
	f.queue = append(f.queue, jobs...)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeServer) jobProgress(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.runner(w, r); !ok {
		return
	}
	var p wire.JobProgress
	json.NewDecoder(r.Body).Decode(&p)
	f.mu.Lock()
	f.progress[r.PathValue("id")] = append(f.progress[r.PathValue("id")], p.Message)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeServer) jobResult(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.runner(w, r); !ok {
		return
	}
	var res wire.JobResult
	if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
		problem(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	id := r.PathValue("id")
	f.mu.Lock()
	f.results[id] = res
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	f.resultCh <- id
}

// waitResult waits for the result of job id.
func (f *fakeServer) waitResult(t *testing.T, id string, timeout time.Duration) wire.JobResult {
	t.Helper()
	deadline := time.After(timeout)
	for {
		f.mu.Lock()
		res, ok := f.results[id]
		f.mu.Unlock()
		if ok {
			return res
		}
		select {
		case <-f.resultCh:
		case <-deadline:
			t.Fatalf("no result for job %s after %s", id, timeout)
		}
	}
}

func (f *fakeServer) result(id string) (wire.JobResult, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	res, ok := f.results[id]
	return res, ok
}

func (f *fakeServer) pollsSeen() []pollSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pollSeen(nil), f.polls...)
}

func (f *fakeServer) progressOf(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.progress[id]...)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}

package control_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/quartz"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

// hookReceiver is a real HTTP receiver on loopback that answers with the
// statuses queued for it (then 200) and records what it received.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []hookRequest
	delay    time.Duration
	// failOnce, when set, answers 500 to the first request about that
	// sandbox (instead of the queue).
	failOnce string
}

type hookRequest struct {
	id, timestamp, signature string
	body                     []byte
	typ, sandbox             string
}

func newHookReceiver(t *testing.T, statuses ...int) *hookReceiver {
	h := &hookReceiver{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		json.Unmarshal(body, &ev)
		time.Sleep(h.delay) // widens the window two replicas would race in
		h.mu.Lock()
		h.got = append(h.got, hookRequest{id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"),
			signature: r.Header.Get("webhook-signature"), body: body, typ: ev.Type, sandbox: ev.Data.ID})
		status := http.StatusOK
		if h.failOnce != "" && h.failOnce == ev.Data.ID {
			status, h.failOnce = http.StatusInternalServerError, ""
		} else if len(h.statuses) > 0 {
			status, h.statuses = h.statuses[0], h.statuses[1:]
		}
		h.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// verifyStandardWebhook checks a request as a receiver following the
// Standard Webhooks spec would, written here from the spec.
func verifyStandardWebhook(secret string, r hookRequest) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.id + "." + r.timestamp + "." + string(r.body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(r.signature) {
		if v, sig, ok := strings.Cut(s, ","); ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func hookConfig(clock quartz.Clock) control.Config {
	cfg := testConfig()
	cfg.Clock = clock
	cfg.Webhooks = control.WebhookConfig{Retries: []time.Duration{10 * time.Second, 20 * time.Second},
		AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, DisableAfter: 100}
	return cfg
}

func deliver(t *testing.T, svc *control.Service) int {
	t.Helper()
	n, err := svc.DeliverDueWebhooks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhooksDeliverRetryAndSign(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		e := newEnv(t, url, hookConfig(clock))
		recv := newHookReceiver(t, 500, 502)
		ep, err := e.svc.CreateWebhook(e.ctx, e.alice, recv.URL+"/hooks", "ci", []string{codepod.EventSandboxCreated})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ep.Secret, "whsec_") {
			t.Fatalf("secret %q is not a Standard Webhooks secret", ep.Secret)
		}
		bobRecv := newHookReceiver(t)
		if _, err := e.svc.CreateWebhook(e.ctx, e.bob, bobRecv.URL, "", nil); err != nil {
			t.Fatal(err)
		}

		sb := e.create(e.alice, "hooked", codepod.SandboxSpec{Image: codepod.TinyImage})
		if n := deliver(t, e.svc); n != 1 {
			t.Fatalf("first pass attempted %d deliveries, want 1", n)
		}
		if n := deliver(t, e.svc); n != 0 {
			t.Fatalf("a failed delivery was attempted again at once (%d); want it after its retry wait", n)
		}
		clock.Advance(13 * time.Second) // 10s ±20%
		if n := deliver(t, e.svc); n != 1 {
			t.Fatalf("after the first retry wait: %d attempts, want 1", n)
		}
		clock.Advance(25 * time.Second) // 20s ±20%
		if n := deliver(t, e.svc); n != 1 {
			t.Fatalf("after the second retry wait: %d attempts, want 1", n)
		}
		got := recv.requests()
		if len(got) != 3 {
			t.Fatalf("receiver got %d requests, want 3 (500, 502, 200)", len(got))
		}
		for i, r := range got {
			if r.typ != codepod.EventSandboxCreated || r.sandbox != sb.ID || r.id != got[0].id || !strings.HasPrefix(r.id, "msg_") {
				t.Errorf("request %d: type %q sandbox %q id %q; want sandbox.created of %s with one webhook-id", i, r.typ, r.sandbox, r.id, sb.ID)
			}
			if !verifyStandardWebhook(ep.Secret, r) {
				t.Errorf("request %d: signature %q does not verify", i, r.signature)
			}
			if ts, _ := strconv.ParseInt(r.timestamp, 10, 64); ts != clock.Now().Unix() && i == 2 {
				t.Errorf("request %d: webhook-timestamp %s, want the attempt's time %d", i, r.timestamp, clock.Now().Unix())
			}
		}
		if verifyStandardWebhook(control.NewWebhookSecret(), got[0]) {
			t.Error("a signature verifies with another secret")
		}
		if n := len(bobRecv.requests()); n != 0 {
			t.Errorf("bob's endpoint got %d of alice's events", n)
		}
		ds, _, err := e.st.ListWebhookDeliveries(e.ctx, ep.ID, codepod.Page{})
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries: %+v, %v", ds, err)
		}
		if d := ds[0]; d.Status != codepod.DeliverySucceeded || d.Attempts != 3 || d.LastStatus != 200 {
			t.Errorf("delivery log: %+v; want succeeded after 3 attempts, last 200", d)
		}
		// Redelivery sends the same message again.
		if _, err := e.svc.Redeliver(e.ctx, e.alice.WorkspaceOf(), ep.ID, ds[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Redeliver(e.ctx, e.bob.WorkspaceOf(), ep.ID, ds[0].ID); codepod.ErrorCode(err) != codepod.ENOTFOUND {
			t.Errorf("bob redelivering alice's delivery: %v, want not found", err)
		}
		deliver(t, e.svc)
		if got := recv.requests(); len(got) != 4 || got[3].id != got[0].id {
			t.Errorf("after redelivery: %d requests", len(got))
		}
	})
}

// TestWebhooksOrderPerSandbox: a later event of a sandbox waits while an
// earlier one to the same endpoint is being retried.
func TestWebhooksOrderPerSandbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		e := newEnv(t, url, hookConfig(clock))
		recv := newHookReceiver(t)
		if _, err := e.svc.CreateWebhook(e.ctx, e.alice, recv.URL, "", nil); err != nil {
			t.Fatal(err)
		}
		sb := e.create(e.alice, "ordered", codepod.SandboxSpec{Image: codepod.TinyImage})
		recv.mu.Lock()
		recv.failOnce = sb.ID
		recv.mu.Unlock()
		other := e.create(e.alice, "other", codepod.SandboxSpec{Image: codepod.TinyImage})
		deliver(t, e.svc) // created of both; the first (ordered) fails
		if _, err := e.svc.DeleteSandbox(e.ctx, e.alice, sb.ID); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			deliver(t, e.svc)
		}
		for _, r := range recv.requests() {
			if r.sandbox == sb.ID && r.typ != codepod.EventSandboxCreated {
				t.Fatalf("%s of %s delivered while its sandbox.created waits for a retry", r.typ, sb.ID)
			}
		}
		clock.Advance(13 * time.Second)
		for range 3 {
			deliver(t, e.svc)
		}
		var seq []string
		for _, r := range recv.requests() {
			if r.sandbox == sb.ID {
				seq = append(seq, r.typ)
			}
		}
		if len(seq) < 3 || seq[0] != codepod.EventSandboxCreated || seq[1] != codepod.EventSandboxCreated || seq[len(seq)-1] == codepod.EventSandboxCreated {
			t.Errorf("events of %s in arrival order: %v; want created (500), created (200), then the later ones", sb.ID, seq)
		}
		n := 0
		for _, r := range recv.requests() {
			if r.sandbox == other.ID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the other sandbox's created arrived %d times; its order is its own", n)
		}
	})
}

// TestWebhooksTwoReplicasDeliverOnce: two services (replicas) on one
// database deliver every event exactly once, attempting concurrently.
func TestWebhooksTwoReplicasDeliverOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		e := newEnv(t, url, hookConfig(clock))
		other := control.New(openStore(t, url), hookConfig(clock))
		recv := newHookReceiver(t)
		recv.delay = 20 * time.Millisecond
		if _, err := e.svc.CreateWebhook(e.ctx, e.alice, recv.URL, "", []string{codepod.EventSandboxCreated}); err != nil {
			t.Fatal(err)
		}
		const boxes = 12
		for i := range boxes {
			e.create(e.alice, fmt.Sprintf("r%d", i), codepod.SandboxSpec{Image: codepod.TinyImage})
		}
		var wg sync.WaitGroup
		for _, svc := range []*control.Service{e.svc, other, e.svc, other} {
			wg.Go(func() {
				for range 5 {
					if _, err := svc.DeliverDueWebhooks(context.Background()); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for _, r := range recv.requests() {
			seen[r.id]++
		}
		if len(seen) != boxes {
			t.Errorf("%d distinct events delivered, want %d", len(seen), boxes)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("event %s delivered %d times", id, n)
			}
		}
	})
}

// TestWebhooksSurviveRestartAndDisable: a delivery waiting for its retry
// is attempted by a new server process on the same database; an endpoint
// that keeps failing is disabled, with the reason.
func TestWebhooksSurviveRestartAndDisable(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		e := newEnv(t, url, hookConfig(clock))
		recv := newHookReceiver(t, 503)
		ep, err := e.svc.CreateWebhook(e.ctx, e.alice, recv.URL, "", []string{codepod.EventSandboxCreated})
		if err != nil {
			t.Fatal(err)
		}
		e.create(e.alice, "restart", codepod.SandboxSpec{Image: codepod.TinyImage})
		deliver(t, e.svc)
		// "Restart": a new Service (and store handle) on the same database.
		restarted := control.New(openStore(t, url), hookConfig(clock))
		clock.Advance(13 * time.Second)
		if n := deliver(t, restarted); n != 1 {
			t.Fatalf("the restarted server attempted %d deliveries, want the one waiting", n)
		}
		if got := recv.requests(); len(got) != 2 {
			t.Fatalf("receiver got %d requests, want 2", len(got))
		}

		// Always failing, disabled after 2 failed attempts in a row.
		cfg := hookConfig(clock)
		cfg.Webhooks.DisableAfter = 2
		strict := control.New(openStore(t, url), cfg)
		bad := newHookReceiver(t, 500, 500, 500, 500)
		bep, err := strict.CreateWebhook(e.ctx, e.bob, bad.URL, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		strict.CreateSandbox(e.ctx, e.bob, "b1", codepod.SandboxSpec{Image: codepod.TinyImage})
		strict.CreateSandbox(e.ctx, e.bob, "b2", codepod.SandboxSpec{Image: codepod.TinyImage})
		deliver(t, strict)
		got, err := e.st.Webhook(e.ctx, e.bob.WorkspaceOf(), bep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Disabled || !strings.Contains(got.DisabledReason, "2 failed attempts in a row") || !strings.Contains(got.DisabledReason, "HTTP 500") {
			t.Fatalf("after 2 failures: disabled %v, reason %q", got.Disabled, got.DisabledReason)
		}
		clock.Advance(time.Minute)
		deliver(t, strict)
		if n := len(bad.requests()); n != 2 {
			t.Errorf("a disabled endpoint got %d requests, want the 2 before it was disabled", n)
		}
		if _, err := strict.TestWebhook(e.ctx, e.bob.WorkspaceOf(), bep.ID); codepod.ErrorCode(err) != codepod.ECONFLICT {
			t.Errorf("test ping to a disabled endpoint: %v, want a conflict", err)
		}
		_ = ep
	})
}

// TestWebhooksSSRFGuard: loopback, link-local and private addresses are
// refused unless an admin allowed them — by literal at creation, and by
// the address dialled (after DNS) at delivery.
func TestWebhooksSSRFGuard(t *testing.T) {
	clock := quartz.NewMock(t)
	cfg := hookConfig(clock)
	cfg.Webhooks.AllowNets = nil
	e := newEnv(t, "sqlite://"+t.TempDir()+"/c.db", cfg)
	for _, u := range []string{"http://127.0.0.1:8080/", "http://169.254.169.254/latest", "http://10.1.2.3/", "http://[::1]/", "ftp://example.com/", "http://user:pw@example.com/"} {
		if _, err := e.svc.CreateWebhook(e.ctx, e.alice, u, "", nil); codepod.ErrorCode(err) != codepod.EINVALID {
			t.Errorf("webhook to %s: %v, want refused", u, err)
		}
	}
	recv := newHookReceiver(t)
	// A name resolving to loopback passes creation and is refused when dialled.
	u := strings.Replace(recv.URL, "127.0.0.1", "localhost", 1)
	ep, err := e.svc.CreateWebhook(e.ctx, e.alice, u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.TestWebhook(e.ctx, e.alice.WorkspaceOf(), ep.ID); err != nil {
		t.Fatal(err)
	}
	deliver(t, e.svc)
	if n := len(recv.requests()); n != 0 {
		t.Fatalf("the guard let %d requests reach loopback", n)
	}
	ds, _, _ := e.st.ListWebhookDeliveries(e.ctx, ep.ID, codepod.Page{})
	if len(ds) != 1 || !strings.Contains(ds[0].LastError, "loopback, link-local or private") {
		t.Errorf("delivery log: %+v; want the guard's refusal", ds)
	}
}

// TestWebhooksRunnerEvents: a runner registering, missing its heartbeat
// and coming back emits runner.online, one runner.offline (however often
// the sweep runs) and runner.online again, to server admins' endpoints
// only.
func TestWebhooksRunnerEvents(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		e := newEnv(t, url, hookConfig(clock))
		adminRecv, aliceRecv := newHookReceiver(t), newHookReceiver(t)
		ep, err := e.svc.CreateWebhook(e.ctx, e.admin, adminRecv.URL, "ops", []string{codepod.EventRunnerOnline, codepod.EventRunnerOffline})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateWebhook(e.ctx, e.alice, aliceRecv.URL, "", nil); err != nil { // every event type
			t.Fatal(err)
		}
		r := e.runner("r1", nil, wire.Capacity{Sandboxes: 1})
		deliver(t, e.svc)

		clock.Advance(3 * time.Second) // RunnerTimeout is 2s: the heartbeat is missed
		for range 2 {
			if err := e.svc.MarkOffline(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := e.st.Runner(e.ctx, r.ID); got.Status != codepod.RunnerOffline {
			t.Fatalf("runner %s, want offline", got.Status)
		}
		deliver(t, e.svc)

		// It polls again (the poll then waits on the mock clock for jobs:
		// it is cancelled once the heartbeat is in).
		r, _ = e.st.Runner(e.ctx, r.ID)
		ctx, cancel := context.WithCancel(e.ctx)
		polled := make(chan error, 1)
		go func() { _, err := e.svc.Poll(ctx, r, wire.PollRequest{WaitSeconds: 1}); polled <- err }()
		eventually(t, 30*time.Second, "runner online", func() bool {
			got, _ := e.st.Runner(e.ctx, r.ID)
			return got.Status == codepod.RunnerOnline
		})
		cancel()
		if err := <-polled; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		deliver(t, e.svc)

		got := adminRecv.requests()
		want := []string{codepod.EventRunnerOnline, codepod.EventRunnerOffline, codepod.EventRunnerOnline}
		if len(got) != len(want) {
			t.Fatalf("admin endpoint got %d events %+v, want %v", len(got), got, want)
		}
		for i, g := range got {
			var body struct {
				Data struct{ ID, Name, Status string } `json:"data"`
			}
			json.Unmarshal(g.body, &body)
			if g.typ != want[i] || body.Data.ID != r.ID || body.Data.Name != "r1" || "runner."+body.Data.Status != want[i] {
				t.Errorf("event %d: %s %s", i, g.typ, g.body)
			}
			if !verifyStandardWebhook(ep.Secret, g) {
				t.Errorf("event %d: signature does not verify", i)
			}
		}
		if n := len(aliceRecv.requests()); n != 0 {
			t.Errorf("a tenant's endpoint got %d runner events", n)
		}
	})
}

package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sse is an open event stream.
type sse struct {
	tb testing.TB
	sc *bufio.Scanner
}

type sseEvent struct {
	Name string
	Data map[string]any
}

func (e *env) watch(ctx context.Context, key, query string) *sse {
	e.tb.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	e.tb.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		e.tb.Fatalf("watch: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return &sse{tb: e.tb, sc: bufio.NewScanner(res.Body)}
}

// next reads the next event (skipping comments).
func (s *sse) next() sseEvent {
	s.tb.Helper()
	var ev sseEvent
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data)
		case line == "" && ev.Name != "":
			return ev
		}
	}
	s.tb.Fatalf("the stream ended: %v", s.sc.Err())
	return ev
}

// until reads events until one satisfies ok.
func (s *sse) until(what string, ok func(sseEvent) bool) sseEvent {
	s.tb.Helper()
	for {
		ev := s.next()
		if ok(ev) {
			return ev
		}
		if ev.Name == "error" {
			s.tb.Fatalf("waiting for %s: error event %v", what, ev.Data)
		}
	}
}

func TestWatchSandboxes(t *testing.T) {
	e := newEnv(t)
	ada := e.newUser("ada@example.com", false)
	bob := e.newUser("bob@example.com", false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	e.do("POST", "/api/v1/sandboxes", bob, map[string]any{"name": "bobs", "image": "codepod/tiny:latest"}).want(t, http.StatusCreated)
	adaFeed := e.watch(ctx, ada, "")
	if ev := adaFeed.next(); ev.Name != "ready" || ev.Data["sandboxes"] != float64(0) {
		t.Fatalf("ada's feed starts with %v, want ready with 0 sandboxes (bob's is not hers)", ev)
	}
	adminFeed := e.watch(ctx, e.adminKey, "?all=true")
	adminFeed.until("bob's sandbox in the admin's feed", func(ev sseEvent) bool { return ev.Name == "sandbox" && ev.Data["name"] == "bobs" })
	adminFeed.until("ready", func(ev sseEvent) bool { return ev.Name == "ready" })

	r := e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "adas", "image": "codepod/tiny:latest"}).want(t, http.StatusCreated)
	id := r.str("id")
	ev := adaFeed.next()
	if ev.Name != "sandbox" || ev.Data["id"] != id || ev.Data["name"] != "adas" {
		t.Fatalf("after a create, ada's feed sent %v; want her sandbox", ev)
	}
	adminFeed.until("ada's sandbox in the admin's feed", func(ev sseEvent) bool { return ev.Name == "sandbox" && ev.Data["id"] == id })

	e.do("DELETE", "/api/v1/sandboxes/"+id, ada, nil)
	adaFeed.until("the deletion", func(ev sseEvent) bool {
		return ev.Name == "deleted" && ev.Data["id"] == id || ev.Name == "sandbox" && ev.Data["status"] != "pending"
	})

	t.Run("all=true is for admins", func(t *testing.T) {
		wantProblem(t, e.do("GET", "/api/v1/events?all=true", ada, nil), http.StatusForbidden)
	})
	t.Run("revoking the key ends the feed", func(t *testing.T) {
		k := e.do("POST", "/api/v1/api-keys", ada, map[string]any{"name": "feed"}).want(t, http.StatusCreated)
		f := e.watch(ctx, k.str("key"), "")
		f.until("ready", func(ev sseEvent) bool { return ev.Name == "ready" })
		e.do("DELETE", "/api/v1/api-keys/"+k.str("id"), ada, nil).want(t, http.StatusNoContent)
		f.until("the revocation", func(ev sseEvent) bool {
			return ev.Name == "error" && strings.Contains(ev.Data["detail"].(string), "revoked")
		})
	})
}

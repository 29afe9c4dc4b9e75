package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkCreateSandbox measures sandbox creation over HTTP (auth, JSON,
// validation, placement, one transaction) with 8 concurrent clients.
func BenchmarkCreateSandbox(b *testing.B) {
	for _, kind := range stores {
		b.Run(kind, func(b *testing.B) {
			e := newEnvOn(b, kind, nil)
			key := e.newUser("bench@example.com", false)
			tr := e.srv.Client().Transport.(*http.Transport)
			tr.MaxIdleConnsPerHost = 64
			var n atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := createSandbox(e, key, fmt.Sprintf("bench-%d", n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

func createSandbox(e *env, key, name string) error {
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/sandboxes", strings.NewReader(`{"name":"`+name+`","memory":"256m"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("create %s: %d %s", name, res.StatusCode, body)
	}
	return nil
}

// BenchmarkAuthenticatedGet measures what authentication and the
// sandbox's lookup add to a request: GET /sandboxes/{id} with an API key
// beside /healthz (no credential, no store) on the same server, one
// client, sequential requests over one keep-alive connection.
func BenchmarkAuthenticatedGet(b *testing.B) {
	for _, kind := range stores {
		b.Run(kind, func(b *testing.B) {
			e := newEnvOn(b, kind, nil)
			key := e.newUser("bench@example.com", false)
			if err := createSandbox(e, key, "bench"); err != nil {
				b.Fatal(err)
			}
			for _, p := range []struct{ name, path, key string }{
				{"healthz", "/healthz", ""},
				{"get-sandbox", "/api/v1/sandboxes/bench", key},
			} {
				b.Run(p.name, func(b *testing.B) {
					for b.Loop() {
						req, _ := http.NewRequest("GET", e.srv.URL+p.path, nil)
						if p.key != "" {
							req.Header.Set("Authorization", "Bearer "+p.key)
						}
						res, err := e.srv.Client().Do(req)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							b.Fatalf("GET %s: %d", p.path, res.StatusCode)
						}
					}
				})
			}
		})
	}
}

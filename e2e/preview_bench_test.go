package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/runner/docker"
)

// BenchmarkPreview compares a GET of a small page through the preview
// proxy (HTTP → server → pooled SSH connection → tunnel → runner → agent →
// 127.0.0.1:8000) with the same GET straight to the container's bridge
// address from this host, one at a time (p50/p99) and 8 at a time
// (requests per second), on busybox httpd in one tiny sandbox.
func BenchmarkPreview(b *testing.B) {
	c := sharedCluster(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes?wait=90s", map[string]any{"name": "bench-preview", "image": "codepod/tiny:latest", "memory": "64m", "network": "bridge"}, &sb, http.StatusCreated); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { deleteSandbox(b, c, sb.ID) })
	if res := c.exec(ctx, b, sb.ID, map[string]any{"shell": "mkdir -p /www && head -c 1024 /dev/zero | tr '\\0' x > /www/index.html && httpd -p 8000 -h /www"}); res.ExitCode != 0 {
		b.Fatalf("start httpd: %+v", res)
	}
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/ports", map[string]any{"port": 8000}, nil, http.StatusOK); err != nil {
		b.Fatal(err)
	}
	insp, err := c.Docker.Client().ContainerInspect(ctx, docker.ContainerName(sb.ID))
	if err != nil {
		b.Fatal(err)
	}
	var ip string
	for _, n := range insp.NetworkSettings.Networks {
		if n.IPAddress != "" {
			ip = n.IPAddress
		}
	}
	if ip == "" {
		b.Fatal("the sandbox has no bridge address")
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(url, key string) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != 1024 {
			return fmt.Errorf("GET %s: %d, %d bytes", url, resp.StatusCode, n)
		}
		return nil
	}
	targets := []struct{ name, url, key string }{
		{"preview", c.URL + "/api/v1/sandboxes/" + sb.ID + "/ports/8000/", c.AdminKey},
		{"direct", "http://" + ip + ":8000/", ""},
	}
	for _, tg := range targets {
		b.Run(tg.name+"/serial", func(b *testing.B) { measure(b, func() error { return get(tg.url, tg.key) }) })
	}
	for _, tg := range targets {
		b.Run(tg.name+"/parallel8", func(b *testing.B) {
			b.SetParallelism(8)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(tg.url, tg.key); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

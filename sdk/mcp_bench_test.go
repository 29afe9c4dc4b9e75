package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// BenchmarkMCPExec compares the exec tool over /mcp (the Go SDK's client,
// one session) with the REST exec it wraps, in the same sandbox and run:
// `echo hi`, one at a time. It reports p50 and p99 besides ns/op.
//
//	go test -run '^$' -bench BenchmarkMCPExec -benchtime 200x ./sdk/
func BenchmarkMCPExec(b *testing.B) {
	url, key := sdktest.Shared(b)
	ctx := context.Background()
	s, err := mcpConnect(ctx, url, key)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "create_sandbox", Arguments: map[string]any{"image": "codepod/tiny:latest", "memory": "64m"}})
	if err != nil || r.IsError {
		b.Fatalf("create: %v %s", err, mcpText(r))
	}
	id := r.StructuredContent.(map[string]any)["id"].(string)
	defer s.CallTool(ctx, &mcp.CallToolParams{Name: "delete_sandbox", Arguments: map[string]any{"sandbox": id}})

	b.Run("rest", func(b *testing.B) {
		body, _ := json.Marshal(map[string]any{"command": []string{"echo", "hi"}})
		latencies(b, func() error {
			req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/sandboxes/"+id+"/exec", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Transport: bearerTransport{key}}).Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		})
	})
	b.Run("mcp", func(b *testing.B) {
		latencies(b, func() error {
			_, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"sandbox": id, "argv": []string{"echo", "hi"}}})
			return err
		})
	})
}

// latencies runs f b.N times and reports its p50 and p99 in ms.
func latencies(b *testing.B, f func() error) {
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(d[len(d)*99/100])/1e6, "p99-ms")
}

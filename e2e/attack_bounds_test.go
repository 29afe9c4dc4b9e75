package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/internal/testenv"
)

// The attacks of issue 8 on the server's memory, through the real API, a
// real runner and the real agent in a tiny sandbox.

const nulShell = "dd if=/dev/zero bs=1M count=17 2>/dev/null"

// post sends a JSON request as the admin and returns the response with its
// body unread (the caller closes it).
func (c *cluster) post(ctx context.Context, t *testing.T, path string, body any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", c.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// readySandbox is newSandbox, then waits until an exec gets through: the
// first request to a just-started sandbox sometimes answers 503 while its
// agent comes up (seen here; not what these tests are about).
func readySandbox(t *testing.T, c *cluster, name string) *sandbox {
	t.Helper()
	sb := newSandbox(t, c, name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		status, raw, err := c.raw(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", strings.NewReader(`{"command":["true"]}`), "application/json")
		if err == nil && status == http.StatusOK {
			return sb
		}
		if ctx.Err() != nil {
			t.Fatalf("sandbox %s never answered an exec: %d %s %v", name, status, raw, err)
		}
		t.Logf("warming up: %d %s", status, raw)
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAttackNULOutputExec asks for 17 MiB of NULs with max_output_bytes
// 16 MiB, as in issue 8 (a 100 MB answer; RSS 48 → 544 MB, 2.4 GB for six
// at once). Now: a 422 that points at the streaming exec; within the
// limit, a truncated base64 answer of at most 4/3 of the cap per stream;
// six at once at the server's limit keep the process's RSS within
// execRSSBound.
func TestAttackNULOutputExec(t *testing.T) {
	c := sharedCluster(t)
	sb := readySandbox(t, c, "nul-output")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	path := "/api/v1/sandboxes/" + sb.ID + "/exec"

	res := c.post(ctx, t, path, map[string]any{"shell": nulShell, "max_output_bytes": 16 << 20})
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "streaming exec") {
		t.Fatalf("16 MiB ask: %d %s", res.StatusCode, raw)
	}

	var out struct {
		Stdout          string `json:"stdout"`
		StdoutEncoding  string `json:"stdout_encoding"`
		StdoutTruncated bool   `json:"stdout_truncated"`
	}
	if err := c.call(ctx, "POST", path, map[string]any{"shell": nulShell}, &out, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	data, err := base64.StdEncoding.DecodeString(out.Stdout)
	if err != nil || out.StdoutEncoding != "base64" || !out.StdoutTruncated || len(data) != 1<<20 || bytes.Count(data, []byte{0}) != len(data) {
		t.Fatalf("default cap: %s, %d bytes, truncated %v, err %v", out.StdoutEncoding, len(data), out.StdoutTruncated, err)
	}

	before := testenv.VMRSS(t)
	stop := testenv.SampleRSS(t)
	var wg sync.WaitGroup
	sizes := make([]int64, 6)
	for i := range sizes {
		wg.Go(func() {
			res := c.post(ctx, t, path, map[string]any{"shell": nulShell, "max_output_bytes": api.DefaultExecMaxOutputBytes})
			defer res.Body.Close()
			sizes[i], _ = io.Copy(io.Discard, res.Body)
			if res.StatusCode != http.StatusOK {
				t.Errorf("exec %d: status %d", i, res.StatusCode)
			}
		})
	}
	wg.Wait()
	peak := stop()
	t.Logf("six at once: answers of %v bytes; RSS %d MiB before, peak %d MiB (+%d MiB)", sizes, before>>20, peak>>20, (peak-before)>>20)
	for _, n := range sizes {
		if n > api.DefaultExecMaxOutputBytes*4/3+4096 {
			t.Errorf("an answer of %d bytes, over 4/3 of the %d-byte cap", n, api.DefaultExecMaxOutputBytes)
		}
	}
	if !raceEnabled && peak > before+execRSSBound {
		t.Errorf("RSS grew by %d MiB, over the %d MiB bound", (peak-before)>>20, execRSSBound>>20)
	}
}

// execRSSBound: six execs keeping 4 MiB of stdout each (24 MiB), the SSH
// channels' windows and the garbage GOGC lets pile up, with margin for a
// busy machine. Before, six such execs took 2.4 GB.
const execRSSBound = 200 << 20

// TestAttackExecBufferBudget runs more long buffered execs at the largest
// cap than the server's output budget holds: the surplus waits, then gets
// a 429 with Retry-After instead of more memory.
func TestAttackExecBufferBudget(t *testing.T) {
	c := sharedCluster(t)
	sb := readySandbox(t, c, "exec-budget")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fits := api.DefaultExecBufferBytes / (2 * api.DefaultExecMaxOutputBytes)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range fits + 2 {
		wg.Go(func() {
			res := c.post(ctx, t, "/api/v1/sandboxes/"+sb.ID+"/exec", map[string]any{"shell": "sleep 8", "max_output_bytes": api.DefaultExecMaxOutputBytes})
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			counts[res.StatusCode]++
			if res.StatusCode != http.StatusOK {
				t.Logf("%d %s", res.StatusCode, raw)
			}
			if res.StatusCode == http.StatusTooManyRequests && (res.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "retry in")) {
				t.Errorf("429 without Retry-After: %v %s", res.Header, raw)
			}
		})
	}
	wg.Wait()
	if counts[http.StatusOK] != fits || counts[http.StatusTooManyRequests] != 2 {
		t.Errorf("statuses %v, want %d × 200 and 2 × 429", counts, fits)
	}
}

// TestAttackProcDownload downloads files whose stat size is 0 and whose
// content changes as they are read: before, Content-Length 0 made every
// such reply empty.
func TestAttackProcDownload(t *testing.T) {
	c := sharedCluster(t)
	sb := readySandbox(t, c, "proc-download")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	download := func(p string) (*http.Response, []byte) {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.URL+"/api/v1/sandboxes/"+sb.ID+"/files?path="+url.QueryEscape(p), nil)
		req.Header.Set("Authorization", "Bearer "+c.AdminKey)
		res, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("download %s: %d %v %s", p, res.StatusCode, err, b)
		}
		return res, b
	}
	for _, p := range []string{"/proc/self/status", "/proc/self/maps"} {
		_, b := download(p)
		if len(b) < 100 {
			t.Errorf("%s: %d bytes: %q", p, len(b), b)
		}
	}
	_, status := download("/proc/self/status")
	cat := c.exec(ctx, t, sb.ID, map[string]any{"command": []string{"cat", "/proc/self/status"}})
	for _, field := range []string{"Name:", "State:", "Pid:", "VmRSS:", "Threads:"} {
		if !strings.Contains(string(status), field) || !strings.Contains(cat.Stdout, field) {
			t.Errorf("%s missing: download %q, cat %q", field, status, cat.Stdout)
		}
	}
	for _, p := range []string{"/proc/version", "/proc/1/cmdline", "/proc/self/mounts"} {
		_, b := download(p)
		want := c.exec(ctx, t, sb.ID, map[string]any{"command": []string{"cat", p}})
		got, _ := base64Or(want.Stdout, want.StdoutEncoding)
		if len(b) == 0 || !bytes.Equal(b, got) {
			t.Errorf("%s: download %q, cat %q", p, b, got)
		}
	}
	c.exec(ctx, t, sb.ID, map[string]any{"shell": "printf 'hello file' > /tmp/regular"})
	res, b := download("/tmp/regular")
	if string(b) != "hello file" || res.ContentLength != int64(len("hello file")) {
		t.Errorf("regular file: %q, Content-Length %d", b, res.ContentLength)
	}
}

func base64Or(s, enc string) ([]byte, error) {
	if enc == "base64" {
		return base64.StdEncoding.DecodeString(s)
	}
	return []byte(s), nil
}

// TestAttackListPaging lists a directory page by page through the API:
// every name exactly once, and a forged cursor is a 400.
func TestAttackListPaging(t *testing.T) {
	c := sharedCluster(t)
	sb := readySandbox(t, c, "list-paging")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 2500
	c.exec(ctx, t, sb.ID, map[string]any{"shell": fmt.Sprintf("mkdir /tmp/many && cd /tmp/many && i=0; while [ $i -lt %d ]; do : > f$i; i=$((i+1)); done", n)})
	seen := map[string]int{}
	cursor, pages := "", 0
	for {
		var page struct {
			Entries    []struct{ Name string } `json:"entries"`
			NextCursor string                  `json:"next_cursor"`
		}
		q := "?path=/tmp/many&limit=700&cursor=" + url.QueryEscape(cursor)
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/files/list"+q, nil, &page, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page.Entries {
			seen[e.Name]++
		}
		if len(page.Entries) > 700 {
			t.Fatalf("page of %d", len(page.Entries))
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != n || pages != 4 {
		t.Errorf("%d names in %d pages", len(seen), pages)
	}
	for name, k := range seen {
		if k != 1 {
			t.Errorf("%s seen %d times", name, k)
		}
	}
	status, raw, _ := c.raw(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/files/list?path=/tmp/many&cursor=%25%25", nil, "")
	if status != http.StatusBadRequest || !strings.Contains(string(raw), "next_cursor") {
		t.Errorf("forged cursor: %d %s", status, raw)
	}
}

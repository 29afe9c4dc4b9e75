package gateway_test

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/gateway"
)

// TestAttackHugeDirectoryIsPaged lists a directory of 50,000 files page by
// page: every name comes exactly once, in order, and the heap stays within
// a bound while a page is read (the whole directory as FileInfos was
// ~150 MiB of garbage for 300,000 files).
func TestAttackHugeDirectoryIsPaged(t *testing.T) {
	const n, limit = 50000, 10000
	dir := t.TempDir()
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("file-with-a-long-name-to-weigh-more-%07d", i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	c := newSandbox(t).client(t)
	seen := map[string]bool{}
	after, pages := "", 0
	runtime.GC()
	peakHeap := sampleHeap()
	start := time.Now()
	for {
		entries, more, err := gateway.ListPage(ctx(t), c, dir, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for i, e := range entries {
			if seen[e.Name] || e.Name <= after || (i > 0 && e.Name <= entries[i-1].Name) {
				t.Fatalf("page %d: %s out of order or seen twice", pages, e.Name)
			}
			seen[e.Name] = true
		}
		if len(entries) > limit || (more && len(entries) != limit) {
			t.Fatalf("page %d: %d entries, more=%v", pages, len(entries), more)
		}
		if !more {
			break
		}
		after = entries[len(entries)-1].Name
	}
	if len(seen) != n || pages != n/limit {
		t.Fatalf("%d names in %d pages, want %d in %d", len(seen), pages, n, n/limit)
	}
	peak := peakHeap()
	t.Logf("%d files in %d pages in %s; heap in use at most %d MiB", n, pages, time.Since(start), peak>>20)
	if peak > 64<<20 {
		t.Errorf("heap in use reached %d MiB listing pages of %d", peak>>20, limit)
	}
}

// sampleHeap samples the heap in use every 5ms until the returned function
// is called, which returns the peak (this process holds the agent too).
func sampleHeap() func() uint64 {
	var peak uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			peak = max(peak, heapInuse())
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return peak }
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestListLimitIsChecked(t *testing.T) {
	c := newSandbox(t).client(t)
	for _, limit := range []int{0, -1, gateway.MaxListLimit + 1} {
		_, _, err := gateway.ListPage(ctx(t), c, t.TempDir(), "", limit)
		wantCode(t, err, "invalid", "limit")
	}
}

// TestAttackHugeDirectoryArchive archives a directory of 30,000 files
// into a reader that parses the tar as it comes: every file is there once.
// The walk reads directories in batches (pkg/sftp's walker read each one
// whole); the heap it reaches is logged.
func TestAttackHugeDirectoryArchive(t *testing.T) {
	const n = 30000
	dir := t.TempDir()
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("file-with-a-long-name-to-weigh-more-%07d", i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "x"), []byte("x"), 0o644)
	c := newSandbox(t).client(t)
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	walk, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // 30,000 entries on a loaded machine
	defer cancel()
	go func() {
		err := gateway.TarDir(walk, c, dir, pw)
		pw.CloseWithError(err)
		errc <- err
	}()
	seen := map[string]bool{}
	tr := tar.NewReader(pr)
	runtime.GC()
	peakHeap := sampleHeap()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if seen[h.Name] {
			t.Fatalf("%s twice", h.Name)
		}
		seen[h.Name] = true
	}
	peak := peakHeap()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(seen) != n+2 || !seen["sub/"] || !seen["sub/x"] {
		t.Fatalf("%d entries", len(seen))
	}
	t.Logf("heap in use at most %d MiB", peak>>20)
}

package runner

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// diskBackend is a Backend whose disk measures the test sets: a sandbox
// made before disk limits that already holds 10 GiB and more is a state a
// runner upgrade meets, not one a test can write on this machine in
// reasonable time. The rest of the runner, its files and its reports to
// a server, are real. Only the methods the disk watch calls are here.
type diskBackend struct {
	Backend // nil: any other call panics

	mu      sync.Mutex
	usage   []DiskUsage
	stopped []string
}

func (b *diskBackend) set(u ...DiskUsage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.usage = u
}

func (b *diskBackend) DiskUsage(context.Context, string) ([]DiskUsage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]DiskUsage(nil), b.usage...), nil
}

func (b *diskBackend) StopSandbox(_ context.Context, id string, timeout time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if timeout != 0 {
		panic("the disk watch stops with a grace")
	}
	b.stopped = append(b.stopped, id)
	return nil
}

func (b *diskBackend) stops() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.stopped...)
}

// diskRunner is a registered Runner on b whose server records the state
// reports it receives.
func diskRunner(t *testing.T, b Backend) (*Runner, func() []wire.SandboxState) {
	t.Helper()
	var mu sync.Mutex
	var reports []wire.SandboxState
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var st wire.SandboxState
		if !strings.HasSuffix(r.URL.Path, "/state") || json.NewDecoder(r.Body).Decode(&st) != nil {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		mu.Lock()
		reports = append(reports, st)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	agent := filepath.Join(dir, "agent")
	if err := os.WriteFile(agent, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := SaveState(filepath.Join(dir, "state"), &State{Server: srv.URL, RunnerID: "run_disk", Credential: "cred"}); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Server: srv.URL, StateDir: filepath.Join(dir, "state"), AgentBinary: agent, Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	return r, func() []wire.SandboxState {
		mu.Lock()
		defer mu.Unlock()
		return append([]wire.SandboxState(nil), reports...)
	}
}

// A runner upgraded over a sandbox made before disk limits (no limit on
// its container) that holds more than the default does not kill it: the
// sandbox keeps what it holds and may not grow. Once it shrank under the
// default, the default holds like any limit; a sandbox with a limit of its
// own past it is stopped at the first check.
func TestDiskWatchSparesASandboxMadeBeforeDiskLimitsButStopsItGrowing(t *testing.T) {
	b := &diskBackend{}
	r, reports := diskRunner(t, b)
	ctx := context.Background()
	for _, id := range []string{"sb_legacy", "sb_limited"} {
		if err := os.MkdirAll(r.sandboxDir(id), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	def := codepod.DefaultLimits.DefaultDisk
	held := def + 5<<30

	b.set(DiskUsage{SandboxID: "sb_legacy", Used: held}, DiskUsage{SandboxID: "sb_limited", Used: 65 << 20, Limit: 64 << 20})
	r.checkDisk(ctx)
	if got := b.stops(); len(got) != 1 || got[0] != "sb_limited" {
		t.Fatalf("stopped %v after the first check; want only sb_limited", got)
	}
	if rep := reports(); len(rep) != 1 || rep[0].ID != "sb_limited" || rep[0].State != wire.StateFailed || !strings.HasPrefix(rep[0].Reason, "disk: ") {
		t.Fatalf("reports %+v; want sb_limited failed for its disk", rep)
	}
	if got := r.diskAllowance("sb_legacy"); got != held {
		t.Fatalf("allowance of the sandbox made before disk limits = %d; want the %d it held", got, held)
	}

	b.set(DiskUsage{SandboxID: "sb_legacy", Used: held}) // the same again: left alone
	r.checkDisk(ctx)
	b.set(DiskUsage{SandboxID: "sb_legacy", Used: held + 1<<20}) // grows: stopped
	r.checkDisk(ctx)
	if got := b.stops(); len(got) != 2 || got[1] != "sb_legacy" {
		t.Fatalf("stopped %v; want sb_legacy stopped once it grew", got)
	}

	// Shrunk under the default (a start after the stop, then deletes), it
	// gets no second allowance when it grows past the default again.
	b.set(DiskUsage{SandboxID: "sb_legacy", Used: 1 << 30})
	r.checkDisk(ctx)
	if got := r.diskAllowance("sb_legacy"); got != 0 {
		t.Fatalf("allowance %d after the sandbox shrank under the default; want none", got)
	}
	b.set(DiskUsage{SandboxID: "sb_legacy", Used: def + 1})
	r.checkDisk(ctx)
	if got := b.stops(); len(got) != 3 || got[2] != "sb_legacy" {
		t.Fatalf("stopped %v; want sb_legacy stopped past the default after it shrank", got)
	}
}

package store_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/store"
)

// newHub starts a Hub on db, closed when the test ends.
func newHub(t *testing.T, db *store.DB) *store.Hub {
	t.Helper()
	h, err := db.NewHub(context.Background(), nil)
	if err != nil {
		t.Fatalf("NewHub: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func wantWoken(t *testing.T, c <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(within):
		t.Fatalf("%s: not woken within %s", what, within)
	}
}

func wantNotWoken(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
		t.Fatalf("%s: woken, want still waiting", what)
	case <-time.After(200 * time.Millisecond):
	}
}

// Two replicas on one database: a Notify on either wakes the polls that
// wait on both, and only those of that runner; nothing is left running
// after Close.
func TestHubAcrossReplicas(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	url := testenv.PostgresURL(t)
	dbA, dbB := openURL(t, url, nil), openURL(t, url, nil)
	a, b := newHub(t, dbA), newHub(t, dbB)

	onA, onB, other := a.Wait("run_1"), b.Wait("run_1"), b.Wait("run_2")
	a.Notify("run_1")
	wantWoken(t, onA, 50*time.Millisecond, "local waiter")
	wantWoken(t, onB, time.Second, "waiter on the other replica")
	wantNotWoken(t, other, "another runner's waiter")

	back := a.Wait("run_2")
	b.Notify("run_2")
	wantWoken(t, back, time.Second, "waiter on the first replica")

	a.Close()
	b.Close()
	dbA.Close()
	dbB.Close()
	goleak.VerifyNone(t, leaks)
}

// A listener whose connection is killed reconnects and wakes its waiters
// (notifications sent while it was down are lost), then receives again.
func TestHubReconnects(t *testing.T) {
	url := testenv.PostgresURL(t)
	dbA, dbB := openURL(t, url, nil), openURL(t, url, nil)
	a, b := newHub(t, dbA), newHub(t, dbB)
	w := b.Wait("run_1")
	raw := backends[1].raw(t, url)
	res, err := raw.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN ` + store.HubChannel + `' AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("terminated %d listeners, want 2", n)
	}
	wantWoken(t, w, 5*time.Second, "waiter after the reconnect")

	deadline := time.Now().Add(10 * time.Second)
	for {
		w := b.Wait("run_1")
		a.Notify("run_1")
		select {
		case <-w:
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the reconnected listener receives no notification")
		}
	}
}

// On SQLite there is no LISTEN/NOTIFY: NewHub says so.
func TestHubNeedsPostgres(t *testing.T) {
	db := open(t, backends[0])
	if _, err := db.NewHub(context.Background(), nil); err == nil {
		t.Fatal("NewHub on SQLite succeeded, want an error")
	}
}

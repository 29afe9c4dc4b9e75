package e2e_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain stops the shared cluster after the tests and then fails the
// package if any goroutine is left: tunnels, pooled SSH connections,
// splices and WebSocket handlers must all end with their owners.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	if code == 0 {
		if err := goleak.Find(leakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakOptions: none so far. The store, the Docker client, the pool, the
// runner and the HTTP server are all closed by cluster.close, and the
// SQLite driver (modernc) starts no goroutines of its own; add ignores
// here only for a dependency that cannot be stopped.
func leakOptions() []goleak.Option {
	return nil
}

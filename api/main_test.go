package api_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (a poll,
// control's loops, a connection pool).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package gateway_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: pooled
// connections, their watchers, SFTP sessions and stdin copies must all end
// when their owner closes.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

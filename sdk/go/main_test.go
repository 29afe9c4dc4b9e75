package codepod_test

import (
	"os"
	"testing"

	codepod "github.com/codepod-dev/codepod/sdk/go"
	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// TestMain runs the tests and the examples against one real cluster.
func TestMain(m *testing.M) { os.Exit(sdktest.Main(m)) }

// tinyImage is the project's busybox image, built by the harness.
const tinyImage = "codepod/tiny:latest"

// newClient is a client of the shared cluster, as its admin.
func newClient(t *testing.T) *codepod.Client {
	t.Helper()
	url, key := sdktest.Shared(t)
	c, err := codepod.NewClient(codepod.WithServerURL(url), codepod.WithAPIKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newSandbox creates a running tiny sandbox that is deleted when the test
// ends.
func newSandbox(t *testing.T, c *codepod.Client) *codepod.Sandbox {
	t.Helper()
	sb, err := c.CreateSandbox(t.Context(), codepod.CreateOptions{Image: tinyImage, Memory: "64m"})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sb
}

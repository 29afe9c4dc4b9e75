package sdktest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// StartCluster starts a cluster for one test and returns its URL and the
// admin's API key. It skips the test without Docker (and fails it in CI),
// and at the end of the test fails it if sandboxes were left behind.
func StartCluster(t testing.TB) (url, adminKey string) {
	t.Helper()
	testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx)
	if err != nil {
		t.Fatalf("start a CodePod cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() || os.Getenv("CODEPOD_SDKTEST_LOGS") != "" {
			t.Logf("%s", c.Logs())
		}
	})
	return c.URL, c.AdminKey
}

// shared is the cluster Main started, if any.
var shared *Cluster

// Shared returns the URL and admin key of the cluster Main started, or
// starts one for this test (see StartCluster) when Main did not.
func Shared(t testing.TB) (url, adminKey string) {
	t.Helper()
	if shared == nil {
		return StartCluster(t)
	}
	return shared.URL, shared.AdminKey
}

// Setting CODEPOD_SDKTEST_LOGS=1 prints the cluster's logs even when the
// tests pass.

// Main runs a package's tests and examples with one shared cluster whose
// URL and key are in CODEPOD_SERVER_URL and CODEPOD_API_KEY, so Example
// functions run against a real server. Without Docker it fails in CI;
// elsewhere it runs only the tests (which skip), not the examples. Use it
// as: func TestMain(m *testing.M) { os.Exit(sdktest.Main(m)) }
func Main(m *testing.M) int {
	flag.Parse()
	if testing.Short() || !dockerAnswers() {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "sdktest: Docker Engine is required in CI but `docker info` failed")
			return 1
		}
		if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "" {
			f.Value.Set("^Test") // examples need a server: run only the tests, which skip
		}
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	c, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdktest: start a CodePod cluster: %v\n", err)
		return 1
	}
	shared = c
	os.Setenv("CODEPOD_SERVER_URL", c.URL)
	os.Setenv("CODEPOD_API_KEY", c.AdminKey)
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "sdktest: %v\n", err)
		code = 1
	}
	if code != 0 || os.Getenv("CODEPOD_SDKTEST_LOGS") != "" {
		fmt.Fprint(os.Stderr, c.Logs())
	}
	return code
}

func dockerAnswers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").Run() == nil
}

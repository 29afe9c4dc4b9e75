// Package sdk_test runs the TypeScript and Python SDKs' own test suites
// (node --test, python3 -m unittest) against a real server and runner on
// the local Docker Engine, and checks that their generated code matches
// openapi.yaml. The Go SDK's tests live with it, in sdk/go, a module of its
// own: sdk/gosdk runs them. install_test.go installs each SDK as its README
// says, outside the repository, and runs the README's quickstart.
package sdk_test

import (
	"os"
	"testing"

	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// TestMain shares one cluster between the suites.
func TestMain(m *testing.M) { os.Exit(sdktest.Main(m)) }

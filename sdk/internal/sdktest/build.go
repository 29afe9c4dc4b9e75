package sdktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/codepod-dev/codepod/internal/testenv"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds codepod and codepod-agent (static, CGO_ENABLED=0) once
// per test binary and returns the directory that holds them.
func Binaries() (string, error) {
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "codepod-sdktest-bin-")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"codepod", "codepod-agent"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, pkg), "./cmd/"+pkg)
			cmd.Dir = testenv.RepoRoot()
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	return binDir, buildErr
}

var (
	tinyOnce sync.Once
	tinyErr  error
)

// TinyImage makes sure codepod/tiny:latest exists, building it with
// `codepod image build tiny` when it does not.
func TinyImage(codepodBin string) error {
	tinyOnce.Do(func() {
		if exec.Command("docker", "image", "inspect", "codepod/tiny:latest").Run() == nil {
			return
		}
		if out, err := exec.Command(codepodBin, "image", "build", "tiny").CombinedOutput(); err != nil {
			tinyErr = fmt.Errorf("build codepod/tiny:latest: %v\n%s", err, out)
		}
	})
	return tinyErr
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const modulePath = "github.com/codepod-dev/codepod"

// prepareLocalBinaries makes `go run ./cmd/codepod up` in a checkout of
// CodePod work without a build step of its own: when no codepod-agent is
// next to this binary, it builds bin/codepod-agent (static, CGO_ENABLED=0)
// with the go command, printing that it does, and copies this binary to
// bin/codepod for the CLI commands that follow (export PATH=$PWD/bin:$PATH).
// It returns the agent's path, or "" (outside a checkout, or without the go
// command) to leave the search to findAgent.
func prepareLocalBinaries(ctx context.Context, w io.Writer) (string, error) {
	exe, err := os.Executable()
	if err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(exe), "codepod-agent")); err == nil {
			return "", nil
		}
	}
	root := checkoutRoot()
	if root == "" {
		return "", nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", nil
	}
	bin := filepath.Join(root, "bin")
	agent := filepath.Join(bin, "codepod-agent")
	fmt.Fprintf(w, "Building %s (CGO_ENABLED=0 go build ./cmd/codepod-agent)…\n", agent)
	start := time.Now()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", agent, "./cmd/codepod-agent")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the sandbox agent (go build -o %s ./cmd/codepod-agent in %s): %w; or give --agent-binary", agent, root, err)
	}
	fmt.Fprintf(w, "Built the sandbox agent in %s.\n", time.Since(start).Round(100*time.Millisecond))
	if exe != "" {
		if err := copyExecutable(exe, filepath.Join(bin, "codepod")); err != nil {
			fmt.Fprintf(w, "Could not copy this codepod to bin/codepod (%v); build it with: go build -o bin/codepod ./cmd/codepod\n", err)
		} else {
			fmt.Fprintf(w, "This codepod binary is also %s (export PATH=$PWD/bin:$PATH).\n", filepath.Join(bin, "codepod"))
		}
	}
	return agent, nil
}

// checkoutRoot is the root of the CodePod checkout the working directory
// is in, "" when it is in none.
func checkoutRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			first, _, _ := bytes.Cut(b, []byte("\n"))
			if string(bytes.TrimSpace(first)) == "module "+modulePath {
				return dir
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// copyExecutable copies src to dst through a temporary file and a rename,
// so that a running dst is not disturbed; it does nothing when they are
// the same file.
func copyExecutable(src, dst string) error {
	if a, err := os.Stat(src); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".codepod-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

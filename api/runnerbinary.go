package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// RunnerBinary describes the runner binary the server hands out for
// self-update: its own executable (`codepod` is server, runner and CLI).
type RunnerBinary struct {
	Version string `json:"version" doc:"The server's CodePod version, which the binary reports."`
	OS      string `json:"os" doc:"GOOS of the binary, e.g. linux."`
	Arch    string `json:"arch" doc:"GOARCH of the binary, e.g. amd64."`
	SHA256  string `json:"sha256" doc:"Hex SHA-256 of the binary GET /runner/binary serves: a runner checks its download against it."`
	Size    int64  `json:"size" doc:"Size of the binary in bytes."`
}

// selfBinary is the server's executable, hashed once.
type selfBinary struct {
	once sync.Once
	path string
	info RunnerBinary
	err  error
}

// serverBinary is this process's executable: every Server in a process
// serves the same one.
var serverBinary selfBinary

func (b *selfBinary) load(version string) (string, RunnerBinary, error) {
	b.once.Do(func() {
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			b.err = fmt.Errorf("find the server's own executable: %w", err)
			return
		}
		f, err := os.Open(exe)
		if err != nil {
			b.err = fmt.Errorf("open the server's own executable: %w", err)
			return
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			b.err = fmt.Errorf("hash the server's own executable: %w", err)
			return
		}
		b.path = exe
		b.info = RunnerBinary{OS: runtime.GOOS, Arch: runtime.GOARCH, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	})
	info := b.info
	info.Version = version
	return b.path, info, b.err
}

type runnerBinaryInput struct {
	OS   string `query:"os" maxLength:"32" doc:"GOOS the runner needs (default: the server's)."`
	Arch string `query:"arch" maxLength:"32" doc:"GOARCH the runner needs (default: the server's)."`
}

type runnerBinaryOutput struct {
	Body RunnerBinary
}

// runnerBinary answers the binary's path and description, or a problem when the
// runner asks for a platform other than the server's.
func (s *Server) runnerBinary(in *runnerBinaryInput) (string, RunnerBinary, error) {
	path, info, err := serverBinary.load(s.cfg.Version)
	if err != nil {
		return "", info, err
	}
	if (in.OS != "" && in.OS != info.OS) || (in.Arch != "" && in.Arch != info.Arch) {
		return "", info, codepod.Errorf(codepod.ENOTFOUND,
			"this server has only its own %s/%s binary, not %s/%s: update that runner by hand (install the codepod binary of version %s)",
			info.OS, info.Arch, in.OS, in.Arch, info.Version)
	}
	return path, info, nil
}

// registerRunnerBinary registers the self-update routes runners call with
// their credential.
func registerRunnerBinary(api huma.API, s *Server) {
	op := s.operation(runnerOnly, http.MethodGet, "/runner/binary/sha256", "get-runner-binary-sha256", "runner-protocol",
		"Describe the runner binary (version, SHA-256)", http.StatusNotFound)
	register(api, s, describe(op, "The server's own codepod binary, which runners started with --auto-update install: its version and SHA-256."),
		func(ctx context.Context, in *runnerBinaryInput) (*runnerBinaryOutput, error) {
			_, info, err := s.runnerBinary(in)
			if err != nil {
				return nil, err
			}
			return &runnerBinaryOutput{Body: info}, nil
		})

	op = s.operation(runnerOnly, http.MethodGet, "/runner/binary", "get-runner-binary", "runner-protocol",
		"Download the runner binary", http.StatusNotFound)
	op.Responses = map[string]*huma.Response{"200": {Description: "The codepod binary (application/octet-stream).",
		Content: map[string]*huma.MediaType{"application/octet-stream": {}}}}
	register(api, s, describe(op, "Streams the server's own codepod binary; check it against GET /runner/binary/sha256 before running it."),
		func(ctx context.Context, in *runnerBinaryInput) (*huma.StreamResponse, error) {
			path, info, err := s.runnerBinary(in)
			if err != nil {
				return nil, err
			}
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("open the server's own executable: %w", err)
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				defer f.Close()
				clearWriteDeadline(ctx)
				hctx.SetHeader("Content-Type", "application/octet-stream")
				hctx.SetHeader("Content-Length", strconv.FormatInt(info.Size, 10))
				hctx.SetHeader("X-Codepod-Sha256", info.SHA256)
				hctx.SetHeader("X-Codepod-Version", info.Version)
				hctx.SetStatus(http.StatusOK)
				io.Copy(hctx.BodyWriter(), f)
			}}, nil
		})
}

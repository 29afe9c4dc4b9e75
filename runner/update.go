package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ErrRestart is what Run returns after the runner replaced its executable
// with the server's (Config.AutoUpdate): its jobs are drained, and the
// caller re-executes the binary at Config.Executable (see Restart).
var ErrRestart = errors.New("runner updated itself: restart it")

// updateRetry is how long a runner waits before trying a failed update again.
const updateRetry = 5 * time.Minute

// runnerBinary is the server's answer at /api/v1/runner/binary/sha256.
type runnerBinary struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// wantsUpdate reports whether the runner should replace itself with the
// server's binary now.
func (r *Runner) wantsUpdate(serverVersion string) bool {
	if !r.cfg.AutoUpdate || serverVersion == "" || serverVersion == r.cfg.Version {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Now().Before(r.nextUpdate) {
		return false
	}
	r.nextUpdate = time.Now().Add(updateRetry)
	return true
}

// selfUpdate downloads the server's binary for this platform into a temp
// file beside the executable, checks its SHA-256 against the one the
// server publishes, makes it executable and renames it over the
// executable (atomic on one file system). The running process keeps its
// old image until it re-executes.
func (r *Runner) selfUpdate(ctx context.Context) (string, error) {
	exe := r.cfg.Executable
	if exe == "" {
		return "", errors.New("the runner does not know its own executable (Config.Executable)")
	}
	q := "?os=" + url.QueryEscape(runtime.GOOS) + "&arch=" + url.QueryEscape(runtime.GOARCH)
	var want runnerBinary
	if err := r.api.get(ctx, "/api/v1/runner/binary/sha256"+q, r.credential(), func(body io.Reader) error {
		return json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&want)
	}); err != nil {
		return "", err
	}
	if len(want.SHA256) != 64 {
		return "", fmt.Errorf("the server published no usable SHA-256 for its binary (%q)", want.SHA256)
	}
	tmp, err := os.CreateTemp(filepath.Dir(exe), "."+filepath.Base(exe)+".update-*")
	if err != nil {
		return "", fmt.Errorf("cannot write beside %s (the runner must own its directory to update itself): %w", exe, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	h := sha256.New()
	err = r.api.get(ctx, "/api/v1/runner/binary"+q, r.credential(), func(body io.Reader) error {
		_, err := io.Copy(io.MultiWriter(tmp, h), body)
		return err
	})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("download the runner binary: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		return "", fmt.Errorf("the downloaded binary's SHA-256 is %s, the server published %s: not installing it", got, want.SHA256)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	// The new binary must run here and be the version the server said:
	// else the restarted runner would find a skew again and loop.
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	out, err := exec.CommandContext(vctx, tmp.Name(), "--version").Output()
	cancel()
	if f := strings.Fields(string(out)); err != nil || len(f) == 0 || f[len(f)-1] != want.Version {
		return "", fmt.Errorf("the downloaded binary does not report version %s (`--version`: %q, %v): not installing it", want.Version, strings.TrimSpace(string(out)), err)
	}
	if err := os.Rename(tmp.Name(), exe); err != nil {
		return "", fmt.Errorf("replace %s: %w", exe, err)
	}
	return want.Version, nil
}

// drain waits until every job the runner holds has run and reported, or
// ctx ends. No poll runs meanwhile, so no new job arrives; jobs the server
// has queued stay queued until the restarted runner polls.
func (r *Runner) drain(ctx context.Context, d *dispatcher) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// get fetches path with a bearer credential and hands a 2xx body to read.
func (c *apiClient) get(ctx context.Context, path, bearer string, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp)
	}
	return read(resp.Body)
}

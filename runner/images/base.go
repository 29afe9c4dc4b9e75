package images

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Suite is the Debian release of the base image.
const Suite = "bookworm"

// BasePackages are installed on top of debootstrap's minbase. python3 (not
// just python3-minimal) so that the standard library (json, subprocess …)
// is there for code that sandboxes run; nodejs for JavaScript code contexts
// (docs/code.md).
var BasePackages = []string{"python3", "nodejs", "git", "curl", "bash", "ca-certificates"}

// buildBase debootstraps Debian into a temporary directory and imports it.
func buildBase(ctx context.Context, e Engine, ref string, opts Options, log *slog.Logger) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("building the base image needs debootstrap (apt-get install debootstrap)")
	}
	if os.Geteuid() != 0 {
		return errors.New("building the base image needs root (debootstrap makes device nodes and chroots)")
	}
	mirror := opts.Mirror
	if mirror == "" {
		mirror = HostMirror()
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "codepod-base-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer removeTree(tmp, log)
	rootfs := filepath.Join(tmp, "rootfs")
	start := time.Now()
	report := func(msg string) {
		log.Info("building the base image: "+msg, "image", ref)
		if opts.Progress != nil {
			opts.Progress(msg)
		}
	}
	log.Info("building the base image with debootstrap (a few minutes; progress follows)", "image", ref, "mirror", mirror)
	cache, unlock, err := packageCache(opts.CacheDir, log)
	if err != nil {
		return err
	}
	err = debootstrap(ctx, rootfs, mirror, cache, log, report)
	unlock()
	if err != nil {
		return err
	}
	trimRootfs(rootfs)
	log.Info("importing image", "image", ref, "debootstrap", time.Since(start).Round(time.Second))
	report("importing into Docker")
	return importDir(ctx, e, ref, rootfs,
		changes(Base, `CMD ["/bin/bash"]`, "ENV LANG=C.UTF-8", "WORKDIR /root"), report)
}

func debootstrap(ctx context.Context, rootfs, mirror, cache string, log *slog.Logger, report func(string)) error {
	args := []string{"--variant=minbase", "--include=" + strings.Join(BasePackages, ",")}
	if cache != "" {
		args = append(args, "--cache-dir="+cache)
	}
	cmd := exec.CommandContext(ctx, "debootstrap", append(args, Suite, rootfs, mirror)...)
	var (
		mu    sync.Mutex
		steps debootstrapProgress
	)
	tail := &lineTail{log: log, max: 20, onLine: func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if msg := steps.line(line); msg != "" {
			report(msg)
		}
	}}
	cmd.Stdout, cmd.Stderr = tail, tail
	// The unpacking and configuring steps take minutes and say nothing on
	// debootstrap's output: dpkg's lines ("Unpacking X", "Setting up X") go
	// to debootstrap.log in the target, which is followed for them.
	done := make(chan struct{})
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followLog(filepath.Join(rootfs, "debootstrap", "debootstrap.log"), done, func(lines []string) {
			mu.Lock()
			defer mu.Unlock()
			last := ""
			for _, l := range lines {
				if msg := steps.dpkgLine(l); msg != "" {
					last = msg
				}
			}
			if last != "" { // at most one report a second
				report(last)
			}
		})
	}()
	err := cmd.Run()
	close(done)
	<-followed
	if err != nil {
		return fmt.Errorf("debootstrap %s from %s: %w; last output:\n%s", Suite, mirror, err, tail.String())
	}
	return nil
}

// followLog hands the new lines of the file at path to batch, every
// second, until done is closed (the file may not exist yet).
func followLog(path string, done <-chan struct{}, batch func([]string)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var off int64
	var partial string
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if _, err := f.Seek(off, io.SeekStart); err == nil {
			b, _ := io.ReadAll(f)
			off += int64(len(b))
			partial += string(b)
			if i := strings.LastIndexByte(partial, '\n'); i >= 0 {
				batch(strings.Split(partial[:i], "\n"))
				partial = partial[i+1:]
			}
		}
		f.Close()
	}
}

// trimRootfs drops package caches that only make the image bigger.
func trimRootfs(rootfs string) {
	for _, pattern := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*"} {
		matches, _ := filepath.Glob(filepath.Join(rootfs, pattern))
		for _, m := range matches {
			os.Remove(m)
		}
	}
}

// importDir streams dir as a tar (GNU tar keeps owners, modes, links and
// device nodes exactly) into the engine.
// report, when not nil, hears how far the import is at each tenth.
func importDir(ctx context.Context, e Engine, ref, dir string, changes []string, report func(string)) error {
	cmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-cf", "-", ".")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	var rootfs io.Reader = out
	if report != nil {
		const mib = 1 << 20
		rootfs = &countingReader{r: out, total: treeSize(dir), report: func(n, total int64) {
			report(fmt.Sprintf("importing into Docker: %d%% (%d of %d MiB)", percent(n, total), n/mib, total/mib))
		}}
	}
	importErr := e.ImportImage(ctx, ref, rootfs, changes)
	io.Copy(io.Discard, out) // let tar finish if the import stopped reading
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("tar %s: %w: %s", dir, err, stderr.String())
	}
	return importErr
}

// lineTail logs each line of a program's output at debug level and keeps
// the last few for an error message.
type lineTail struct {
	log     *slog.Logger
	max     int
	partial string
	lines   []string
	onLine  func(string) // each complete line, when set
}

func (t *lineTail) Write(p []byte) (int, error) {
	t.partial += string(p)
	for {
		i := strings.IndexByte(t.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimRight(t.partial[:i], "\r")
		t.partial = t.partial[i+1:]
		t.log.Debug(line, "program", "debootstrap")
		if t.onLine != nil {
			t.onLine(line)
		}
		t.lines = append(t.lines, line)
		if len(t.lines) > t.max {
			t.lines = t.lines[1:]
		}
	}
}

func (t *lineTail) String() string { return strings.Join(append(t.lines, t.partial), "\n") }

// HostMirror is the Debian mirror of the host's apt sources (deb822
// debian.sources first, then sources.list), else http://deb.debian.org/debian.
func HostMirror() string {
	if m := mirrorFromDeb822("/etc/apt/sources.list.d/debian.sources"); m != "" {
		return m
	}
	if m := mirrorFromList("/etc/apt/sources.list"); m != "" {
		return m
	}
	return "http://deb.debian.org/debian"
}

func mirrorFromDeb822(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, block := range strings.Split(string(b), "\n\n") {
		var uri string
		sc := bufio.NewScanner(strings.NewReader(block))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "URIs:"); ok {
				uri = firstField(v)
			}
		}
		if uri != "" && !strings.Contains(uri, "security") {
			return uri
		}
	}
	return ""
}

func mirrorFromList(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "deb" && !strings.HasPrefix(f[1], "[") && !strings.Contains(f[1], "security") {
			return f[1]
		}
	}
	return ""
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

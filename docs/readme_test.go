// Package docs_test checks that the README's first screen works as written.
package docs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// TestReadmeFirstScreen follows README.md literally on a clean copy of the
// repository (the tracked files only: no bin/, no build products), with a
// fresh HOME (so a fresh data directory and CLI config) and no base image:
// it runs the first command, waits for "CodePod is up", then runs every
// line of the five-minute tour and of the REST block with bash, in order,
// asserting what each prints. The base image build is part of it (minutes):
// the tour's create waits for it.
//
// Documented substitutions, the only differences from a user's terminal:
//   - the server listens on a free loopback port instead of 3000 (other
//     tests and helpers run on this machine): `--addr 127.0.0.1:PORT` is
//     added to the first command, "localhost:3000" in the REST block
//     becomes "127.0.0.1:PORT", and the CLI gets CODEPOD_SERVER_URL;
//   - the base image is built under a throwaway tag (CODEPOD_UP_BASE_IMAGE,
//     test-only) and "codepod/base:latest" in the tour becomes that tag, so
//     that the codepod/base:latest other tests rely on is neither used nor
//     removed;
//   - ./notes.txt, which the tour copies, is written first, and the
//     interactive `codepod sandbox ssh` gets "echo …; exit" on its input;
//   - the Go module and build caches are the machine's (the time from an
//     empty build cache is measured separately: docs/benchmarks.md).
//
// It takes minutes (compiling CodePod, debootstrap), so it runs with
// CODEPOD_TEST_BASE_IMAGE=1, which CI sets; there a missing prerequisite
// (Docker, debootstrap, root) fails it.
func TestReadmeFirstScreen(t *testing.T) {
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") == "" {
		t.Skip("set CODEPOD_TEST_BASE_IMAGE=1 to follow the README with a base image build (minutes)")
	}
	testenv.Docker(t)
	if _, err := exec.LookPath("debootstrap"); err != nil {
		testenv.Missing(t, "debootstrap", "apt-get install debootstrap")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "debootstrap needs root")
	}
	readme, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := shBlocks(string(readme))
	first := blockAfter(t, blocks, "", 0)
	tour := blockAfter(t, blocks, "## Five-minute tour", 0)
	rest := blockAfter(t, blocks, "The same through the REST API", 0)

	clone := cleanCopy(t)
	home := t.TempDir()
	port := freePort(t)
	tag := fmt.Sprintf("codepod-test/base:readme-%d", time.Now().UnixNano())
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	if err := os.WriteFile(filepath.Join(clone, "notes.txt"), []byte("notes from the README test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := userEnv(t, home, map[string]string{
		"CODEPOD_UP_BASE_IMAGE": tag,
		"CODEPOD_SERVER_URL":    fmt.Sprintf("http://localhost:%d", port),
	})

	// The first command.
	upLine := commandOf(first.lines[0].text)
	if !strings.Contains(upLine, " up") {
		t.Fatalf("the README's first command is %q; this test expects it to start CodePod (… up)", upLine)
	}
	upLine += fmt.Sprintf(" --addr 127.0.0.1:%d", port)
	t.Logf("$ %s", upLine)
	up := startUp(t, clone, env, upLine)
	out := up.waitFor(t, "CodePod is up", 15*time.Minute)
	t.Logf("CodePod is up after %s", up.since())
	if !strings.Contains(out, "still being built") {
		t.Errorf("up did not say that the base image is still being built:\n%s", out)
	}

	sh := newShell(t, clone, env)
	key := func() string {
		b, err := os.ReadFile(filepath.Join(home, ".local/share/codepod/admin-api-key"))
		if err != nil {
			t.Fatalf("the admin key is not where the README says: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	t.Cleanup(func() {
		for _, name := range []string{"demo", "box"} {
			sh.run("codepod sandbox delete "+name, "")
		}
	})

	// The five-minute tour.
	sawBuilding := false
	for _, l := range tour.lines {
		line := strings.ReplaceAll(commandOf(l.text), "codepod/base:latest", tag)
		if line == "" {
			continue
		}
		var stdin string
		var watch func() bool
		switch {
		case strings.HasPrefix(line, "codepod sandbox ssh "):
			stdin = "echo via-ssh-$((6*7)); exit\n"
		case strings.HasPrefix(line, "codepod sandbox create ") && strings.Contains(line, tag):
			watch = sandboxReasonWatcher(t, port, key(), "demo", "building "+strings.TrimSuffix(tag, ":latest"))
		}
		stop := func() bool { return false }
		if watch != nil {
			stop = watch
		}
		res := sh.run(line, stdin)
		sawBuilding = stop() || sawBuilding
		t.Logf("README:%d (at %s from the first command) $ %s\n%s", l.n, up.since(), line, res.out)
		if res.code != 0 {
			t.Fatalf("README:%d %q exited %d:\n%s", l.n, line, res.code, res.out)
		}
		switch {
		case strings.HasPrefix(line, "codepod sandbox create "):
			if !sawBuilding {
				t.Errorf("while the create waited, the sandbox's reason never said %q", "building "+strings.TrimSuffix(tag, ":latest"))
			}
		case line == "codepod sandbox list":
			if !strings.Contains(res.out, "demo") || !strings.Contains(res.out, "running") {
				t.Errorf("the list does not show demo running:\n%s", res.out)
			}
		case strings.HasPrefix(line, "codepod sandbox exec "):
			if strings.TrimSpace(res.out) != "42" {
				t.Errorf("exec printed %q, want 42", res.out)
			}
		case strings.HasPrefix(line, "codepod sandbox ssh "):
			if !strings.Contains(res.out, "via-ssh-42") {
				t.Errorf("the ssh session did not run its input:\n%s", res.out)
			}
		case strings.HasPrefix(line, "codepod sandbox cp "):
			got := sh.run("codepod sandbox exec demo -- cat /root/notes.txt", "")
			if got.out != "notes from the README test\n" {
				t.Errorf("after cp, /root/notes.txt is %q (exit %d)", got.out, got.code)
			}
		case strings.Contains(line, "-o json"):
			var sb struct{ Name, Status, Image string }
			if err := json.Unmarshal([]byte(res.out), &sb); err != nil || sb.Name != "demo" || sb.Status != "running" || sb.Image != tag {
				t.Errorf("get -o json: %v: %+v from\n%s", err, sb, res.out)
			}
		}
	}

	// The REST block: each command (a line with its continuations) on its own.
	rests := restCommands(rest)
	for i, c := range rests {
		line := strings.ReplaceAll(c.text, "localhost:3000", fmt.Sprintf("127.0.0.1:%d", port))
		res := sh.run(line, "")
		t.Logf("README:%d $ %s\n%s", c.n, line, res.out)
		if res.code != 0 {
			t.Fatalf("README:%d exited %d:\n%s", c.n, res.code, res.out)
		}
		if !strings.HasPrefix(line, "curl") {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(res.out), &doc); err != nil {
			t.Fatalf("README:%d did not print JSON: %v\n%s", c.n, err, res.out)
		}
		switch {
		case strings.Contains(line, "/exec"):
			if doc["exit_code"] != float64(0) || doc["stdout"] != "hi\n" {
				t.Errorf("README:%d: exec answered %v, want exit_code 0 and stdout \"hi\\n\"", c.n, doc)
			}
		case strings.Contains(line, `-d '{"name"`):
			if doc["name"] != "box" {
				t.Errorf("README:%d: create answered %v", c.n, doc)
			}
		case i > 0 && strings.HasSuffix(strings.TrimSpace(line), "/api/v1/sandboxes"):
			if !strings.Contains(res.out, `"box"`) {
				t.Errorf("README:%d: the list does not hold box: %s", c.n, res.out)
			}
		}
	}
	up.stop(t)
}

type numbered struct {
	n    int
	text string
}

type block struct {
	after string // the text before the block, back to the previous block
	lines []numbered
}

// shBlocks are the README's ```sh blocks, in order.
func shBlocks(md string) []block {
	var out []block
	var cur *block
	var before strings.Builder
	for i, l := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```sh"):
			cur = &block{after: before.String()}
		case cur != nil && strings.HasPrefix(l, "```"):
			out = append(out, *cur)
			cur = nil
			before.Reset()
		case cur != nil:
			cur.lines = append(cur.lines, numbered{i + 1, l})
		default:
			before.WriteString(l + "\n")
		}
	}
	return out
}

// blockAfter is the first sh block whose preceding text holds marker ("":
// the first block).
func blockAfter(t *testing.T, blocks []block, marker string, _ int) block {
	t.Helper()
	for _, b := range blocks {
		if marker == "" || strings.Contains(b.after, marker) {
			return b
		}
	}
	t.Fatalf("README.md has no ```sh block after %q", marker)
	return block{}
}

// commandOf drops a trailing "# comment" (outside quotes) and blanks.
func commandOf(line string) string {
	var q rune
	for i, r := range line {
		switch {
		case q != 0 && r == q:
			q = 0
		case q == 0 && (r == '\'' || r == '"'):
			q = r
		case q == 0 && r == '#' && (i == 0 || line[i-1] == ' '):
			return strings.TrimSpace(line[:i])
		}
	}
	return strings.TrimSpace(line)
}

// restCommands joins continued lines and drops comments.
func restCommands(b block) []numbered {
	var out []numbered
	var cur *numbered
	for _, l := range b.lines {
		text := strings.TrimSpace(l.text)
		if cur == nil && (text == "" || strings.HasPrefix(text, "#")) {
			continue
		}
		if cur == nil {
			cur = &numbered{n: l.n}
		}
		if body, ok := strings.CutSuffix(text, `\`); ok {
			cur.text += body + " "
			continue
		}
		cur.text += text
		out = append(out, *cur)
		cur = nil
	}
	return out
}

// cleanCopy copies the repository's tracked files, as they are in the
// working tree, to a new directory: what a fresh clone holds.
func cleanCopy(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot()
	dst := filepath.Join(t.TempDir(), "codepod")
	files, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// userEnv is this process's environment with a fresh HOME, no CodePod or
// XDG settings of its own, the machine's Go caches, and extra on top.
func userEnv(t *testing.T, home string, extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CODEPOD_") || strings.HasPrefix(k, "XDG_") || k == "HOME" || k == "CI" {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		v, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(v)))
	}
	env = append(env, "HOME="+home)
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// upProcess is the first command, running in its own process group (go run
// starts codepod as a child).
type upProcess struct {
	cmd   *exec.Cmd
	start time.Time
	mu    sync.Mutex
	out   bytes.Buffer
	seen  chan string // each line of output
	done  chan error
}

func startUp(t *testing.T, dir string, env []string, line string) *upProcess {
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &upProcess{cmd: cmd, start: time.Now(), seen: make(chan string, 4096), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.seen <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("output of %q:\n%s", line, p.output())
		}
	})
	return p
}

func (p *upProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *upProcess) since() time.Duration { return time.Since(p.start).Round(time.Second) }

// waitFor waits for a line holding s and returns the output so far.
func (p *upProcess) waitFor(t *testing.T, s string, limit time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case l := <-p.seen:
			if strings.Contains(l, s) {
				// The lines printed with it.
				for more := true; more; {
					select {
					case <-p.seen:
					case <-time.After(500 * time.Millisecond):
						more = false
					}
				}
				return p.output()
			}
		case err := <-p.done:
			t.Fatalf("the first command ended (%v) before printing %q:\n%s", err, s, p.output())
		case <-deadline.C:
			t.Fatalf("no %q after %s:\n%s", s, limit, p.output())
		}
	}
}

// stop interrupts up as Ctrl-C would, and checks that it ends cleanly.
func (p *upProcess) stop(t *testing.T) {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-p.done:
		// go run's own status on an interrupt is not CodePod's: logged.
		t.Logf("up stopped on Ctrl-C (%v)", err)
	case <-time.After(2 * time.Minute):
		t.Errorf("up did not stop within 2 minutes of Ctrl-C")
	}
}

// shell runs README lines one by one with bash, carrying exported
// variables from one line to the next as one terminal would.
type shell struct {
	t       *testing.T
	dir     string
	env     []string
	envFile string
}

type result struct {
	out  string
	code int
}

func newShell(t *testing.T, dir string, env []string) *shell {
	f := filepath.Join(t.TempDir(), "env.sh")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return &shell{t: t, dir: dir, env: env, envFile: f}
}

func (s *shell) run(line, stdin string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	// set -a: a plain assignment (KEY=$(cat …)) is exported, so that
	// export -p carries it to the next line as one terminal would.
	script := fmt.Sprintf("set -a\nsource %q\n%s\nrc=$?\nexport -p > %q\nexit $rc\n", s.envFile, line, s.envFile)
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = s.dir, s.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("run %q: %v", line, err)
	}
	return result{string(out), code}
}

// sandboxReasonWatcher watches sandbox name through the API while a
// command runs; the function it returns stops watching and reports whether
// the sandbox's reason ever held want.
func sandboxReasonWatcher(t *testing.T, port int, key, name, want string) func() bool {
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan bool, 1)
	go func() {
		found := false
		defer func() { seen <- found }()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/api/v1/sandboxes/%s", port, name), nil)
			req.Header.Set("Authorization", "Bearer "+key)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				var sb struct{ Status, Reason string }
				json.NewDecoder(resp.Body).Decode(&sb)
				resp.Body.Close()
				if strings.Contains(sb.Reason, want) {
					if !found {
						t.Logf("while creating: status %s, reason %q", sb.Status, sb.Reason)
					}
					found = true
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() bool { cancel(); return <-seen }
}

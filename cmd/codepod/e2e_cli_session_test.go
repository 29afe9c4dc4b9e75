package main_test

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCLIExec checks `sandbox exec`: exit codes pass through, stdout and
// stderr stay apart, and binary stdin and stdout arrive intact.
func testCLIExec(t *testing.T, c *cluster, ref string) {
	for _, code := range []int{0, 3, 255} {
		r := c.run(cliOpts{}, "sandbox", "exec", ref, "--", "sh", "-c", fmt.Sprintf("exit %d", code))
		if r.code != code {
			t.Errorf("exec exit %d: CLI exited %d, stderr %q", code, r.code, r.stderr)
		}
	}
	r := c.run(cliOpts{}, "sandbox", "exec", "--env", "WHO=world", "-w", "/tmp", ref, "--", "sh", "-c", `echo "out $WHO $(pwd)"; echo err >&2`)
	if r.code != 0 || string(r.stdout) != "out world /tmp\n" || string(r.stderr) != "err\n" {
		t.Errorf("exec with env and workdir: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := randomBytes(t, 4<<20)
	for name, in := range map[string][]byte{"all 256 byte values": all, "4 MiB random": big} {
		r := c.run(cliOpts{stdin: bytes.NewReader(in)}, "sandbox", "exec", "-i", ref, "--", "cat")
		if r.code != 0 || !bytes.Equal(r.stdout, in) {
			t.Errorf("%s through exec -i cat: exit %d, %d bytes back (want %d), equal %v, stderr %q",
				name, r.code, len(r.stdout), len(in), bytes.Equal(r.stdout, in), r.stderr)
		}
	}
	r = c.run(cliOpts{stdin: bytes.NewReader(big)}, "sandbox", "exec", "-i", ref, "--", "sha256sum")
	if got := strings.Fields(string(r.stdout)); r.code != 0 || len(got) == 0 || got[0] != sha(big) {
		t.Errorf("sha256sum of stdin in the sandbox: exit %d, %q, want %s", r.code, r.stdout, sha(big))
	}
	r = c.run(cliOpts{}, "sandbox", "exec", ref, "--", "printf", `\000\377\r\n`)
	if want := []byte{0, 0xff, '\r', '\n'}; r.code != 0 || !bytes.Equal(r.stdout, want) {
		t.Errorf("binary stdout: %q, want %q", r.stdout, want)
	}
}

// testCLICpTree copies a tree with nested directories, a symlink and an
// executable into the sandbox and back out, and compares.
func testCLICpTree(t *testing.T, c *cluster, ref string) {
	src := filepath.Join(t.TempDir(), "tree")
	files := map[string]struct {
		mode fs.FileMode
		data string
	}{
		"README":             {0o644, "top level\n"},
		"bin/run.sh":         {0o755, "#!/bin/sh\necho ran\n"},
		"a/b/c/deep.txt":     {0o600, "deep\n"},
		"a/b/data.bin":       {0o644, string(randomBytes(t, 300<<10))},
		"a/empty-file":       {0o644, ""},
		"spaces in/name.txt": {0o644, "spaced\n"},
	}
	for p, f := range files {
		full := filepath.Join(src, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(full, f.mode)
	}
	os.MkdirAll(filepath.Join(src, "empty-dir"), 0o755)
	if err := os.Symlink("a/b/c/deep.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if r := c.run(cliOpts{}, "sandbox", "cp", src, ref+":/tmp/cp-up"); r.code != 0 {
		t.Fatalf("cp up: exit %d: %s", r.code, r.stderr)
	}
	r := c.run(cliOpts{}, "sandbox", "exec", ref, "--", "sh", "-c", "/tmp/cp-up/bin/run.sh && readlink /tmp/cp-up/link && cat /tmp/cp-up/link")
	if r.code != 0 || string(r.stdout) != "ran\na/b/c/deep.txt\ndeep\n" {
		t.Errorf("the tree in the sandbox: exit %d, %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	dst := filepath.Join(t.TempDir(), "back")
	if r := c.run(cliOpts{}, "sandbox", "cp", ref+":/tmp/cp-up", dst); r.code != 0 {
		t.Fatalf("cp down: exit %d: %s", r.code, r.stderr)
	}
	if got, want := treeOf(t, dst), treeOf(t, src); got != want {
		t.Errorf("the tree after the round trip differs:\ngot:\n%s\nwant:\n%s", got, want)
	}
	c.run(cliOpts{}, "sandbox", "exec", ref, "--", "rm", "-rf", "/tmp/cp-up")
}

// treeOf describes a tree: each entry's path, type, permissions and
// contents (a file's SHA-256, a link's target).
func treeOf(t *testing.T, root string) string {
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		what := ""
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			what, _ = os.Readlink(p)
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			what = sha(data)
		}
		if rel == "." {
			return nil // the root's own mode depends on how it was made
		}
		fmt.Fprintf(&b, "%s %s %s\n", rel, info.Mode().Type()|info.Mode().Perm(), what)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// testPortForward starts busybox httpd in the sandbox and fetches a page
// through `codepod sandbox port-forward`.
func testPortForward(t *testing.T, c *cluster, ref string) {
	r := c.run(cliOpts{}, "sandbox", "exec", ref, "--", "sh", "-c", "mkdir -p /www; echo hello > /www/index.html; httpd -p 8080 -h /www")
	if r.code != 0 {
		t.Fatalf("start httpd: exit %d: %s", r.code, r.stderr)
	}
	port := portOf(freePort(t))
	pf := startProc(t, "port-forward", c.cliEnv(cliOpts{}), "sandbox", "port-forward", ref, port+":8080")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(pf.output(), "Forwarding") {
		if time.Now().After(deadline) || pf.cmd.ProcessState != nil {
			t.Fatalf("port-forward did not start listening:\n%s", pf.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get("http://127.0.0.1:" + port + "/")
			if err != nil {
				t.Errorf("GET through port-forward: %v", err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != "hello\n" {
				t.Errorf("GET through port-forward: %d %q", resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	pf.stop()
	if code := pf.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("port-forward after SIGTERM: exit %d, want 0:\n%s", code, pf.output())
	}
}

// logsImage is an image whose own command prints to stdout and stderr and
// then stays up.
const logsImage = "codepod-test/logs:latest"

// testLogs makes a sandbox from logsImage and reads its output with
// `codepod sandbox logs`.
func testLogs(t *testing.T, c *cluster) {
	build := exec.Command("docker", "build", "-q", "-t", logsImage, "-")
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	build.Stdin = strings.NewReader("FROM codepod/tiny:latest\n" +
		`CMD ["sh", "-c", "echo hello from the image command; echo to stderr >&2; exec sleep 100000"]` + "\n")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", logsImage, err, out)
	}
	id := c.must("sandbox", "create", "logs", "--image", logsImage, "--wait", "--timeout", "60s")
	defer c.must("sandbox", "delete", id)
	var out string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r := c.run(cliOpts{}, "sandbox", "logs", "logs")
		if r.code != 0 {
			t.Fatalf("sandbox logs: exit %d: %s", r.code, r.stderr)
		}
		if out = string(r.stdout); strings.Contains(out, "to stderr") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, "hello from the image command\n") || !strings.Contains(out, "to stderr\n") {
		t.Errorf("sandbox logs = %q, want both lines of the image command", out)
	}
}

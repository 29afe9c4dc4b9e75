package agent_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
	"golang.org/x/crypto/ssh"
)

// busyboxImage is a tiny image built here from the host's static busybox.
const busyboxImage = "codepod-test/agent-busybox:latest"

var busyboxOnce sync.Once

// ensureBusyboxImage imports busyboxImage unless the engine has it: a tar of
// /bin/busybox plus a symlink per applet, through `docker import`.
func ensureBusyboxImage(t testing.TB) {
	t.Helper()
	testenv.Docker(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		testenv.Missing(t, "/bin/busybox", "apt-get install busybox-static")
	}
	var err error
	busyboxOnce.Do(func() {
		if exec.Command("docker", "image", "inspect", busyboxImage).Run() == nil {
			return
		}
		var tarball []byte
		if tarball, err = busyboxTar(); err != nil {
			return
		}
		cmd := exec.Command("docker", "import", "-", busyboxImage)
		cmd.Stdin = bytes.NewReader(tarball)
		if out, e := cmd.CombinedOutput(); e != nil {
			err = fmt.Errorf("docker import: %v: %s", e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func busyboxTar() ([]byte, error) {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("read /bin/busybox (install busybox-static): %w", err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin/", "tmp/", "root/", "proc/", "dev/", "sys/", "etc/"} {
		mode := int64(0o755)
		if dir == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: mode})
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox"})
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// runContainer starts the busybox image with the agent as its entrypoint,
// its binary and etc mounted as the runner does, and returns the
// container's name. The agent's own tests reach it on a Unix socket in a
// bind-mounted test directory (the runner uses no such socket: it dials
// from the container's network namespace, see runner/docker).
func runContainer(t testing.TB, f *fixture, child ...string) string {
	t.Helper()
	ensureBusyboxImage(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := "codepod-test-agent-" + hex.EncodeToString(b)
	args := []string{"run", "-d", "--name", name, "--network", "none",
		"-v", testenv.AgentBinary(t) + ":/.codepod/bin/codepod-agent:ro",
		"-v", f.etc + ":/.codepod/etc:ro",
		"-v", filepath.Dir(f.socket) + ":/.codepod/run",
		"--entrypoint", "/.codepod/bin/codepod-agent", busyboxImage, "--socket", "/.codepod/run/agent.sock", "--"}
	out, err := exec.Command("docker", append(args, child...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
			t.Logf("container log:\n%s", logs)
		}
		exec.Command("docker", "rm", "-f", name).Run()
	})
	waitDial(t, "unix", f.socket, nil)
	return name
}

func TestInContainer(t *testing.T) {
	testenv.Docker(t)
	f := newFixture(t)
	name := runContainer(t, f, "sleep", "3600")
	c := f.client(t)

	res := run(t, c, "echo hi; exit 7", nil, nil)
	if res.code != 7 || res.stdout != "hi\n" {
		t.Fatalf("exit %d stdout %q stderr %q, want 7 and hi", res.code, res.stdout, res.stderr)
	}
	t.Run("agent is PID 1 and the image command its child", func(t *testing.T) {
		procs := procTable(t, c)
		if procs[1].comm != "codepod-agent" {
			t.Errorf("PID 1 is %q", procs[1].comm)
		}
		found := false
		for _, p := range procs {
			found = found || (p.comm == "sleep" && p.ppid == 1)
		}
		if !found {
			t.Errorf("no sleep child of PID 1 in %v", procs)
		}
	})
	t.Run("no zombies after double forks", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			run(t, c, "(sleep 0.1 >/dev/null 2>&1 &); exit 0", nil, nil)
		}
		time.Sleep(500 * time.Millisecond)
		for pid, p := range procTable(t, c) {
			if p.state == "Z" {
				t.Errorf("zombie in the container: %d %+v", pid, p)
			}
		}
	})
	t.Run("token auth", func(t *testing.T) {
		tc, err := f.dial(t, "root", ssh.Password(f.token()))
		if err != nil {
			t.Fatal(err)
		}
		tc.Close()
	})
	c.Close()

	start := time.Now()
	if out, err := exec.Command("docker", "stop", "-t", "10", name).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v: %s", err, out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("docker stop took %v: SIGTERM not handled", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, _ := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.State.ExitCode}}", name).Output()
	if strings.TrimSpace(string(code)) != "0" {
		t.Errorf("agent exit code %q after docker stop", code)
	}
}

type procEntry struct {
	comm, state string
	ppid        int
}

// procTable reads /proc/*/stat inside the sandbox (busybox has no pgrep).
func procTable(t *testing.T, c *ssh.Client) map[int]procEntry {
	t.Helper()
	res := run(t, c, `for f in /proc/[0-9]*/stat; do cat "$f"; echo; done`, nil, nil)
	procs := map[int]procEntry{}
	for _, line := range strings.Split(res.stdout, "\n") {
		open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || end < open {
			continue
		}
		var pid int
		var p procEntry
		fmt.Sscanf(line[:open], "%d", &pid)
		fmt.Sscanf(line[end+1:], " %s %d", &p.state, &p.ppid)
		p.comm = line[open+1 : end]
		procs[pid] = p
	}
	return procs
}

package agent_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
	"golang.org/x/crypto/ssh"
)

// agentProc is the built codepod-agent running on this machine as a
// subreaper (the same code path as PID 1 in a container).
type agentProc struct {
	cmd    *exec.Cmd
	stderr *testenv.Buffer
	tcp    string
	exited chan struct{}
}

// startBinary runs the agent binary with the fixture's layout; tcp adds
// --listen-tcp on a free loopback port; child is the image command.
func startBinary(t testing.TB, f *fixture, tcp bool, child ...string) *agentProc {
	t.Helper()
	args := []string{"--etc", f.etc, "--socket", f.socket, "--run-dir", filepath.Dir(f.socket)}
	p := &agentProc{stderr: &testenv.Buffer{}, exited: make(chan struct{})}
	if tcp {
		p.tcp = freePort(t)
		args = append(args, "--listen-tcp", p.tcp)
	} else {
		args = append(args, "--listen-tcp=") // not the sandbox's fixed port on this machine
	}
	if len(child) > 0 {
		args = append(append(args, "--"), child...)
	}
	p.cmd = exec.Command(testenv.AgentBinary(t), args...)
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", p.stderr.String())
		}
	})
	waitDial(t, "unix", f.socket, p.exited)
	return p
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitDial waits until addr accepts connections.
func waitDial(t testing.TB, network, addr string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial(network, addr); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatal("agent exited before listening")
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("agent never listened on %s", addr)
}

// TestBinaryExitStatusesWhileReaping runs commands that leave orphans
// behind, in parallel, and checks every exit status is still exact: the
// reaper must not steal the statuses of the agent's own children.
func TestBinaryExitStatusesWhileReaping(t *testing.T) {
	f := newFixture(t)
	startBinary(t, f, false)
	c := f.client(t)
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(code int) {
			defer wg.Done()
			res := run(t, c, fmt.Sprintf("(sleep 0.05 >/dev/null 2>&1 &); exit %d", code), nil, nil)
			if res.code != code {
				t.Errorf("exit %d (signal %q), want %d", res.code, res.signal, code)
			}
		}(i * 10 % 256)
	}
	wg.Wait()
	if res := run(t, c, "kill -TERM $$", nil, nil); res.signal != "TERM" {
		t.Errorf("signal %q, want TERM", res.signal)
	}
}

// TestBinaryReapsOrphans: a double-forked process is re-parented to the
// agent while it runs and does not stay a zombie after it exits.
func TestBinaryReapsOrphans(t *testing.T) {
	f := newFixture(t)
	p := startBinary(t, f, false)
	c := f.client(t)
	res := run(t, c, "(sleep 0.3 >/dev/null 2>&1 & echo $!)", nil, nil)
	pid, err := strconv.Atoi(strings.TrimSpace(res.stdout))
	if err != nil {
		t.Fatalf("orphan pid %q: %v", res.stdout, err)
	}
	if ppid := parentOf(pid); ppid != p.cmd.Process.Pid {
		t.Fatalf("orphan %d has parent %d, want the agent %d", pid, ppid, p.cmd.Process.Pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for parentOf(pid) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d still exists (a zombie?): %s", pid, statOf(pid))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if z := zombiesOf(p.cmd.Process.Pid); len(z) > 0 {
		t.Errorf("agent has zombie children: %v", z)
	}
}

func statOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return string(b)
}

// parentOf is pid's parent, or 0 if pid does not exist.
func parentOf(pid int) int {
	st := statOf(pid)
	i := strings.LastIndexByte(st, ')')
	if i < 0 {
		return 0
	}
	var state string
	var ppid int
	fmt.Sscanf(st[i+1:], " %s %d", &state, &ppid)
	return ppid
}

func zombiesOf(parent int) []int {
	var z []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		st := statOf(pid)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		var state string
		var ppid int
		fmt.Sscanf(st[i+1:], " %s %d", &state, &ppid)
		if ppid == parent && state == "Z" {
			z = append(z, pid)
		}
	}
	return z
}

// TestBinarySupervisesImageCommand: the image's command runs, the agent
// serves alongside it, and SIGTERM to the agent reaches it.
func TestBinarySupervisesImageCommand(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	script := fmt.Sprintf(`trap 'echo term > %[1]s/term; exit 0' TERM; echo up > %[1]s/started; while :; do sleep 0.05; done`, dir)
	p := startBinary(t, f, false, "sh", "-c", script)
	waitFile(t, filepath.Join(dir, "started"))
	c := f.client(t)
	if res := run(t, c, "echo serving", nil, nil); res.stdout != "serving\n" {
		t.Fatalf("agent does not serve beside the image command: %+v", res)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not exit on SIGTERM")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "term")); string(b) != "term\n" {
		t.Errorf("image command did not get SIGTERM (term file %q)", b)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("agent exit code %d", code)
	}
}

// TestBinaryOutlivesImageCommand: the image command exiting is logged and
// the agent keeps serving (restart policy: none).
func TestBinaryOutlivesImageCommand(t *testing.T) {
	f := newFixture(t)
	p := startBinary(t, f, false, "sh", "-c", "exit 3")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), `"status":"exit 3"`) {
		if time.Now().After(deadline) {
			t.Fatalf("exit of the image command not logged:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := f.client(t)
	if res := run(t, c, "exit 4", nil, nil); res.code != 4 {
		t.Errorf("exit %d", res.code)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

// TestBinaryTokenOverSocket: the binary accepts a token on its socket.
func TestBinaryTokenOverSocket(t *testing.T) {
	f := newFixture(t)
	startBinary(t, f, false)
	c, err := f.dial(t, "root", ssh.Password(f.token()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if res := run(t, c, "echo $USER", nil, nil); res.stdout != "root\n" {
		t.Errorf("stdout %q", res.stdout)
	}
}

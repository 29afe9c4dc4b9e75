package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
)

// agentDialTimeout bounds one dial of the agent (the namespace dance plus
// a TCP connect on the container's loopback).
const agentDialTimeout = 5 * time.Second

// DialAgent connects to the agent of a running sandbox: a TCP connection
// to 127.0.0.1:AgentPort made from inside the container's network
// namespace. Nothing on the runner's host is opened by a path the tenant
// can write: /proc/<pid>/ns/net is the kernel's handle of the namespace of
// the pid the engine names, and the pid is confirmed to still be the
// container's after the handle is open. A stopped or missing sandbox is an
// error wrapping runner.ErrNotRunning. See docs/security-channel.md.
func (b *Backend) DialAgent(ctx context.Context, sandboxID string) (net.Conn, error) {
	if b.channel == ChannelExec || b.netnsDenied.Load() {
		return b.dialAgentExec(ctx, sandboxID)
	}
	c, err := b.dialAgentNetns(ctx, sandboxID)
	if err != nil && permissionDenied(err) {
		b.netnsDenied.Store(true)
		b.log.Warn("cannot enter sandboxes' network namespaces; reaching agents through docker exec from now on", "err", err)
		return b.dialAgentExec(ctx, sandboxID)
	}
	return c, err
}

// dialAgentNetns is DialAgent through the container's network namespace.
func (b *Backend) dialAgentNetns(ctx context.Context, sandboxID string) (net.Conn, error) {
	pid, err := b.runningPid(ctx, sandboxID)
	if err != nil {
		return nil, err
	}
	confirm := func() error {
		again, err := b.runningPid(ctx, sandboxID)
		if err != nil {
			return err
		}
		if again != pid {
			return codepod.Errorf(codepod.EUNAVAILABLE, "sandbox %s restarted while its agent was dialed; try again", sandboxID)
		}
		return nil
	}
	return dialPidNetns(ctx, pid, confirm, net.JoinHostPort("127.0.0.1", strconv.Itoa(AgentPort)))
}

// runningPid is the host pid of the sandbox container's first process, or
// an error wrapping runner.ErrNotRunning when the container is missing or
// does not run.
func (b *Backend) runningPid(ctx context.Context, sandboxID string) (int, error) {
	c, err := b.find(ctx, sandboxID)
	if err != nil {
		return 0, err
	}
	if c == nil || c.State == nil || !c.State.Running || c.State.Paused || c.State.Pid <= 0 {
		return 0, fmt.Errorf("sandbox %s: %w", sandboxID, runner.ErrNotRunning)
	}
	return c.State.Pid, nil
}

// errOwnNetns refuses a dial that would land in the runner's own network
// namespace, where 127.0.0.1 is the host's loopback.
var errOwnNetns = errors.New("refusing to dial the agent: the container's network namespace is the runner's own")

// dialPidNetns opens pid's network namespace, calls confirm (which checks
// that pid is still the process it was meant to be: pids are reused),
// refuses the runner's own namespace, and dials addr from inside it.
func dialPidNetns(ctx context.Context, pid int, confirm func() error, addr string) (net.Conn, error) {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", codepod.Errorf(codepod.EUNAVAILABLE, "cannot open the sandbox's network namespace"), err)
	}
	defer ns.Close()
	if err := confirm(); err != nil {
		return nil, err
	}
	if err := notOwnNetns(ns); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, agentDialTimeout)
	defer cancel()
	return dialInNetns(ctx, ns, addr)
}

// notOwnNetns fails when ns is the network namespace of this process or of
// the host's PID 1 (when this process can see it).
func notOwnNetns(ns *os.File) error {
	target, err := nsID(ns)
	if err != nil {
		return err
	}
	for _, path := range []string{"/proc/self/ns/net", "/proc/thread-self/ns/net", "/proc/1/ns/net"} {
		f, err := os.Open(path)
		if err != nil {
			if path == "/proc/1/ns/net" {
				continue // not visible from here: the first two suffice
			}
			return fmt.Errorf("open %s: %w", path, err)
		}
		id, err := nsID(f)
		f.Close()
		if err != nil {
			return err
		}
		if id == target {
			return errOwnNetns
		}
	}
	return nil
}

type nsKey struct{ dev, ino uint64 }

func nsID(f *os.File) (nsKey, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nsKey{}, fmt.Errorf("stat namespace %s: %w", f.Name(), err)
	}
	return nsKey{uint64(st.Dev), st.Ino}, nil
}

// dialInNetns creates a TCP socket inside namespace ns and connects it to
// addr. Namespaces belong to OS threads: a goroutine locked to its thread
// enters ns, creates the socket (a socket keeps the namespace it was made
// in), and goes back. If it cannot go back, the thread stays locked and is
// thrown away when the goroutine ends, so no other goroutine ever runs in
// the sandbox's namespace.
func dialInNetns(ctx context.Context, ns *os.File, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, restored, err := dialLocked(ctx, ns, addr)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- result{c, err}
	}()
	r := <-done
	if r.err != nil {
		return nil, fmt.Errorf("%w (%w)", codepod.Errorf(codepod.EUNAVAILABLE, "cannot dial the agent in the sandbox"), r.err)
	}
	return r.c, nil
}

// dialLocked runs on a locked thread; restored says whether the thread is
// back in its own network namespace.
func dialLocked(ctx context.Context, ns *os.File, addr string) (c net.Conn, restored bool, err error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, fmt.Errorf("open this thread's network namespace: %w", err)
	}
	defer self.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("enter the network namespace: %w", err)
	}
	c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if serr := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); serr != nil {
		// The socket is made and belongs to the sandbox's namespace; only
		// this thread is lost.
		return c, false, err
	}
	return c, true, err
}

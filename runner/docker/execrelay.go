package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"golang.org/x/sys/unix"

	"github.com/codepod-dev/codepod"
)

// Agent channels: how the runner reaches a sandbox's agent.
const (
	// ChannelNetns dials the agent from inside the container's network
	// namespace (needs root on the engine's host; the fastest).
	ChannelNetns = "netns"
	// ChannelExec runs `codepod-agent --relay` in the container through the
	// engine's exec API and speaks over its stdin and stdout (any runner
	// that may use the engine, local or remote; ~300 ms per dial).
	ChannelExec = "exec"
)

// chooseChannel picks the channel for cfg.AgentChannel ("" chooses): the
// network namespace when the engine is on this host and the runner is
// root, else exec. Pids from an engine on another host name processes of
// that host, never this one's, so netns is never used with one.
func chooseChannel(want, daemonHost string) (string, error) {
	local := daemonHost == "" || strings.HasPrefix(daemonHost, "unix://")
	switch want {
	case ChannelExec:
		return ChannelExec, nil
	case ChannelNetns:
		if !local {
			return "", fmt.Errorf("agent channel netns needs the engine on this host, not %s", daemonHost)
		}
		return ChannelNetns, nil
	case "":
		if local && unix.Geteuid() == 0 {
			return ChannelNetns, nil
		}
		return ChannelExec, nil
	}
	return "", fmt.Errorf("agent channel %q: use %s or %s", want, ChannelNetns, ChannelExec)
}

// permissionDenied: the runner may not enter namespaces after all (root
// without CAP_SYS_ADMIN, a restricted /proc).
func permissionDenied(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// dialAgentExec connects to the agent through an exec of the agent binary
// (mounted read-only in every sandbox) in relay mode. Nothing on the
// runner's host is opened: the engine runs the relay inside the container.
func (b *Backend) dialAgentExec(ctx context.Context, sandboxID string) (net.Conn, error) {
	if _, err := b.runningPid(ctx, sandboxID); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, agentDialTimeout)
	defer cancel()
	ex, err := b.cli.ContainerExecCreate(ctx, b.ref(sandboxID), container.ExecOptions{
		User: "0:0", AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Cmd: []string{AgentPath, "--relay", net.JoinHostPort("127.0.0.1", strconv.Itoa(AgentPort))},
	})
	if err != nil {
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "start the agent relay in sandbox %s: %v", sandboxID, err)
	}
	hj, err := b.cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "attach to the agent relay in sandbox %s: %v", sandboxID, err)
	}
	pr, pw := io.Pipe()
	go func() {
		// The relay's stdout is the agent's side of the stream; its stderr
		// says why a relay failed, which the SSH handshake reports anyway.
		_, err := stdcopy.StdCopy(pw, io.Discard, hj.Reader)
		pw.CloseWithError(err)
	}()
	return &execConn{hj: hj, r: pr}, nil
}

// execConn is an exec's attached stdin (writes) and demultiplexed stdout
// (reads) as a net.Conn.
type execConn struct {
	hj types.HijackedResponse
	r  *io.PipeReader
}

func (c *execConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *execConn) Write(p []byte) (int, error) { return c.hj.Conn.Write(p) }

// CloseWrite ends the relay's stdin, so the agent sees the end of the stream.
func (c *execConn) CloseWrite() error { return c.hj.CloseWrite() }

func (c *execConn) Close() error {
	c.hj.Close()
	return c.r.Close()
}

func (c *execConn) LocalAddr() net.Addr                { return c.hj.Conn.LocalAddr() }
func (c *execConn) RemoteAddr() net.Addr               { return c.hj.Conn.RemoteAddr() }
func (c *execConn) SetDeadline(t time.Time) error      { return c.hj.Conn.SetDeadline(t) }
func (c *execConn) SetReadDeadline(t time.Time) error  { return c.hj.Conn.SetReadDeadline(t) }
func (c *execConn) SetWriteDeadline(t time.Time) error { return c.hj.Conn.SetWriteDeadline(t) }

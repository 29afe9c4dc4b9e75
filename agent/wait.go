package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod/agent/proc"
	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/unix"
)

// waitProcess waits for p to exit while forwarding the client's signals to
// target. If the client closes the session (or the connection drops) first,
// it kills p's process group and reports a hangup.
func waitProcess(s ssh.Session, p *proc.Process, target func(syscall.Signal)) (hangup bool) {
	sigs := make(chan ssh.Signal, 8)
	stop := make(chan struct{})
	forwarded := make(chan struct{})
	s.Signals(sigs)
	go func() {
		defer close(forwarded)
		for {
			select {
			case name := <-sigs:
				if sig, ok := proc.ParseSignal(string(name)); ok {
					target(sig)
				}
			case <-stop:
				return
			}
		}
	}()
	select {
	case <-p.Done():
	case <-closedOf(s):
		hangup = true
		p.SignalGroup(syscall.SIGKILL)
		<-p.Done()
	}
	// Unregister while the forwarder still drains, so the session's request
	// loop never blocks on a send.
	s.Signals(nil)
	close(stop)
	<-forwarded
	return hangup
}

// closedOf is closed when the client closes the session channel.
func closedOf(s ssh.Session) <-chan struct{} {
	if w := channelOf(s); w != nil {
		return w.closed
	}
	return s.Context().Done()
}

// stdoutOf is where raw output goes: the channel itself, bypassing
// gliderlabs' newline rewriting for PTY sessions.
func stdoutOf(s ssh.Session) io.Writer {
	if w := channelOf(s); w != nil {
		return w.Channel
	}
	return s
}

// drainer copies a command's output. Once the command has exited it keeps
// reading only while data keeps coming: a background process that holds
// the stream open but is silent for grace does not hold the session.
type drainer struct {
	f      *os.File
	grace  time.Duration
	exited atomic.Bool
}

// finish marks the command as exited and wakes a blocked read after grace.
func (d *drainer) finish() {
	d.exited.Store(true)
	d.f.SetReadDeadline(time.Now().Add(d.grace))
}

// copyTo copies until end of stream (EOF, or EIO for a PTY whose other side
// is closed), the grace deadline, or a write error.
func (d *drainer) copyTo(dst io.Writer) {
	buf := make([]byte, 32*1024)
	for {
		n, err := d.f.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && buffered(d.f) {
				d.f.SetReadDeadline(time.Now().Add(d.grace))
				continue
			}
			return
		}
		if d.exited.Load() {
			d.f.SetReadDeadline(time.Now().Add(d.grace))
		}
	}
}

// buffered reports whether f has bytes waiting. A Read that starts after
// the grace deadline fails at once, before looking at the pipe, so a copy
// that fell behind (a loaded machine, a slow client) checks for output the
// command wrote before it exited instead of dropping it.
func buffered(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	return n > 0
}

// checkDir fails early, with a message a user can act on, when the working
// directory does not exist.
func checkDir(dir string) (result, bool) {
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return result{failure: fmt.Sprintf("codepod-agent: working directory %s: %v", dir, unwrapPath(err)), code: 1}, false
	}
	return result{}, true
}

// startFailed reports a command that could not start: 127 if the shell is
// missing, 126 for anything else (as shells do).
func startFailed(c command, err error) result {
	code := 126
	if errors.Is(err, fs.ErrNotExist) {
		code = 127
	}
	return result{failure: fmt.Sprintf("codepod-agent: cannot start %s as %s: %v", c.path, c.acct.name, unwrapPath(err)), code: code}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

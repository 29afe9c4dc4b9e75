package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/codepod-dev/codepod"
	"golang.org/x/crypto/ssh"
)

// killGrace is how long a command has to report its exit after the
// timeout's SIGKILL before the session is closed regardless.
const killGrace = 5 * time.Second

// ExecResult is how a command ended and, for Exec, what it wrote.
type ExecResult struct {
	// ExitCode is the exit status, or 128+N when signal N killed it.
	ExitCode int
	// Signal is the name of the signal that killed the command ("KILL"),
	// or "".
	Signal string
	// TimedOut: the request's timeout killed the command (Signal "KILL").
	TimedOut bool
	// Stdout and Stderr are the captured output (Exec only).
	Stdout, Stderr Output
	Duration       time.Duration
	// Timing places Duration along the session's path.
	Timing ExecTiming
}

// ExecTiming is when an exec's steps ended, each measured from the start
// of Exec: the session channel opened (a round trip to the agent), the
// agent answered the exec request (it has started the process), the exit
// status arrived (the process ended and its output was sent).
type ExecTiming struct {
	Channel, Started, Exited time.Duration
}

// StreamHandlers receive a streaming command's output as it comes. The
// functions are never called concurrently, and a chunk is only valid
// during the call. Signals, if not nil, carries signal names ("TERM") to
// send to the command's process group while it runs.
type StreamHandlers struct {
	Stdout, Stderr func([]byte)
	Signals        <-chan string
}

// Exec runs req on one new session of c and returns its exit and output.
// An exit status other than 0 is a result, not an error; errors are
// EINVALID for a bad request, EUNAVAILABLE when the agent cannot be
// reached (wrapping ErrConnLost when no session could be opened), or
// ctx's error.
func Exec(ctx context.Context, c *ssh.Client, req ExecRequest) (*ExecResult, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	out, errOut := &capture{max: req.MaxOutputBytes}, &capture{max: req.MaxOutputBytes}
	res, err := run(ctx, c, &req, streams{stdout: out, stderr: errOut, stdin: bytes.NewReader(req.Stdin)})
	if err != nil {
		return nil, err
	}
	res.Stdout, res.Stderr = out.output(), errOut.output()
	return res, nil
}

// ExecStream runs req like Exec but hands its output to h as it comes and
// feeds it stdin (nil: none; req.Stdin is ignored) until stdin's EOF,
// which closes the command's input. MaxOutputBytes is ignored.
//
// When the command ends, stdin is closed if it is an io.Closer (an
// io.PipeReader, say), so a Read blocked on it returns and nothing is left
// behind; a stdin that is not a Closer must end by itself.
func ExecStream(ctx context.Context, c *ssh.Client, req ExecRequest, h StreamHandlers, stdin io.Reader) (*ExecResult, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	return run(ctx, c, &req, streams{
		stdout:  serialWriter{mu: &mu, fn: h.Stdout},
		stderr:  serialWriter{mu: &mu, fn: h.Stderr},
		stdin:   stdin,
		piped:   stdin != nil,
		signals: h.Signals,
	})
}

// streams wires a session's input and output.
type streams struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	// piped: copy stdin ourselves (it may never end) instead of letting
	// the session's Wait wait for it.
	piped   bool
	signals <-chan string
}

// run opens a session, starts req's command and waits for its end, the
// timeout or ctx.
func run(ctx context.Context, c *ssh.Client, req *ExecRequest, st streams) (*ExecResult, error) {
	start := time.Now()
	s, err := openExec(c)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var timing ExecTiming
	timing.Channel = time.Since(start)
	if err := setenv(s, req); err != nil {
		return nil, spareLost(s, err)
	}
	s.stdout, s.stderr = st.stdout, st.stderr
	feed := newFeeder(s, st)
	if err := s.start(commandLine(req.Command)); err != nil {
		return nil, spareLost(s, sessionError("start the command", err))
	}
	timing.Started = time.Since(start)
	if req.Started != nil {
		req.Started()
	}
	feed.start()
	waitErr, timerFired, err := wait(ctx, s, req.Timeout, st.signals)
	timing.Exited = time.Since(start)
	s.Close()      // ends a stdin copy blocked on the channel's window
	refillSpare(c) // for the next exec, now that this command has ended
	feed.stop()
	if err != nil {
		return nil, err
	}
	res := &ExecResult{Duration: time.Since(start), Timing: timing}
	if res.ExitCode, res.Signal, err = exitOf(waitErr, timerFired); err != nil {
		return nil, err
	}
	res.TimedOut = timerFired && res.Signal == "KILL"
	return res, nil
}

// setenv sends the request's environment and working directory.
func setenv(s *execSession, req *ExecRequest) error {
	for k, v := range req.Env {
		if err := s.setenv(k, v); err != nil {
			return sessionError("set environment variable "+k, err)
		}
	}
	if req.Cwd != "" {
		if err := s.setenv(CwdEnv, req.Cwd); err != nil {
			return sessionError("set the working directory", err)
		}
	}
	return nil
}

// wait waits for the session's end, forwarding signals. At the timeout it
// sends SIGKILL and waits killGrace more; when ctx ends it closes the
// session (the agent kills the process group) and returns ctx's error.
func wait(ctx context.Context, s *execSession, timeout time.Duration, signals <-chan string) (waitErr error, timerFired bool, err error) {
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case err := <-done:
			return err, false, nil
		case name, ok := <-signals:
			if !ok {
				signals = nil
				continue
			}
			if sig, known := ParseSignal(name); known {
				s.Signal(ssh.Signal(sig))
			}
		case <-timer.C:
			s.Signal(ssh.SIGKILL)
			return waitGrace(s, done), true, nil
		case <-ctx.Done():
			s.Close()
			<-done
			return nil, false, fmt.Errorf("exec: %w", ctx.Err())
		}
	}
}

// waitGrace waits for done up to killGrace, then closes the session.
func waitGrace(s *execSession, done <-chan error) error {
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		s.Close()
		return <-done
	}
}

// exitOf reads a session's Wait error as an exit code and signal.
func exitOf(err error, timerFired bool) (code int, signal string, _ error) {
	var rep *exitReport   // an exec's session
	var ee *ssh.ExitError // a terminal's (x/crypto's Session)
	switch {
	case err == nil:
		return 0, "", nil
	case errors.As(err, &rep) && rep.signal != "":
		return signalExitCode(rep.signal), rep.signal, nil
	case errors.As(err, &rep):
		return rep.code, "", nil
	case errors.As(err, &ee) && ee.Signal() != "":
		return signalExitCode(ee.Signal()), ee.Signal(), nil
	case errors.As(err, &ee):
		return ee.ExitStatus(), "", nil
	case timerFired:
		// Killed at the timeout, and the session closed without a report.
		return signalExitCode("KILL"), "KILL", nil
	default:
		return 0, "", sessionError("wait for the command", err)
	}
}

// sessionError reports a session that failed midway: the connection to
// the agent is gone, or the agent refused a request.
// spareLost marks err, the failure to send a request on a channel opened
// ahead, as a lost connection: nothing ran (the exec request was not
// sent), so Pool.Do may run the exec again on a new connection, as when
// opening the channel fails.
func spareLost(s *execSession, err error) error {
	if s.spare {
		return fmt.Errorf("%w: %w", ErrConnLost, err)
	}
	return err
}

func sessionError(what string, err error) error {
	return fmt.Errorf("%w (%s: %v)", codepod.Errorf(codepod.EUNAVAILABLE,
		"lost the connection to the sandbox agent before the command ended"), what, err)
}

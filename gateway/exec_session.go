package gateway

import (
	"fmt"
	"io"
	"sync"

	"golang.org/x/crypto/ssh"
)

// execSession is an exec's SSH session channel, driven without waiting on
// the agent's replies: the env and exec requests are sent with want-reply
// false, so starting a command costs the channel's open and no further
// round trip (x/crypto's Session waits for a reply to each env and the exec
// request: a round trip through the tunnel each). A request the agent
// refuses shows as a channel that closes without an exit status, which
// Wait reports as a lost session.
type execSession struct {
	ch   ssh.Channel
	reqs <-chan *ssh.Request

	stdout, stderr io.Writer
	stdin          io.Reader // copied then closed, when not piped

	copies sync.WaitGroup // stdout, stderr, stdin copies and the request loop
	status *exitStatus    // set by the request loop before copies.Done
	once   sync.Once
	err    error
}

// exitStatus is what the agent reported: an exit code or a signal name.
type exitStatus struct {
	code   int
	signal string
}

// exitReport is the error Wait returns for a command that did not exit 0.
type exitReport struct{ exitStatus }

func (e *exitReport) Error() string {
	if e.signal != "" {
		return "killed by signal " + e.signal
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// openExec opens a session channel on c.
func openExec(c *ssh.Client) (*execSession, error) {
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return nil, channelError(err)
	}
	return &execSession{ch: ch, reqs: reqs}, nil
}

// setenv sends one environment variable (RFC 4254 6.4), without a reply.
func (s *execSession) setenv(name, value string) error {
	_, err := s.ch.SendRequest("env", false, ssh.Marshal(&struct{ Name, Value string }{name, value}))
	return err
}

// stdinPipe is the command's input: Close sends EOF.
func (s *execSession) stdinPipe() io.WriteCloser { return stdinWriter{s.ch} }

type stdinWriter struct{ ch ssh.Channel }

func (w stdinWriter) Write(p []byte) (int, error) { return w.ch.Write(p) }
func (w stdinWriter) Close() error                { return w.ch.CloseWrite() }

// start sends the exec request and starts copying output (and stdin, if
// s.stdin is set) and reading the agent's requests.
func (s *execSession) start(cmd string) error {
	if _, err := s.ch.SendRequest("exec", false, ssh.Marshal(&struct{ Command string }{cmd})); err != nil {
		return err
	}
	s.copies.Add(3)
	go func() { defer s.copies.Done(); io.Copy(s.stdout, s.ch) }()
	go func() { defer s.copies.Done(); io.Copy(s.stderr, s.ch.Stderr()) }()
	go func() { defer s.copies.Done(); s.readRequests() }()
	if s.stdin != nil {
		s.copies.Add(1)
		go func() {
			defer s.copies.Done()
			io.Copy(s.ch, s.stdin)
			s.ch.CloseWrite()
		}()
	}
	return nil
}

// readRequests records the exit status or signal; it ends when the
// channel closes.
func (s *execSession) readRequests() {
	for r := range s.reqs {
		switch r.Type {
		case "exit-status":
			var m struct{ Status uint32 }
			if ssh.Unmarshal(r.Payload, &m) == nil && s.status == nil {
				s.status = &exitStatus{code: int(m.Status)}
			}
		case "exit-signal":
			var m struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}
			if ssh.Unmarshal(r.Payload, &m) == nil && s.status == nil {
				s.status = &exitStatus{signal: m.Signal}
			}
		}
		if r.WantReply {
			r.Reply(false, nil)
		}
	}
}

// Wait waits until the channel closed and its output was copied: nil for
// exit 0, an *exitReport for another status or a signal, an error when the
// channel closed without either.
func (s *execSession) Wait() error {
	s.once.Do(func() {
		s.copies.Wait()
		switch {
		case s.status == nil:
			s.err = fmt.Errorf("the session ended without an exit status")
		case s.status.code != 0 || s.status.signal != "":
			s.err = &exitReport{*s.status}
		}
	})
	return s.err
}

// Signal sends sig to the command (RFC 4254 6.9).
func (s *execSession) Signal(sig ssh.Signal) error {
	_, err := s.ch.SendRequest("signal", false, ssh.Marshal(&struct{ Signal string }{string(sig)}))
	return err
}

// Close closes the channel; the agent kills the command's process group.
func (s *execSession) Close() error { return s.ch.Close() }

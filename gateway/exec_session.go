package gateway

import (
	"context"
	"fmt"
	"io"
	"runtime"
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

	spare bool // the channel was opened ahead (openExec)

	output   sync.WaitGroup // the stdout and stderr copies
	exited   chan struct{}  // closed by the request loop once status is set
	reqsDone chan struct{}  // closed when the request loop ends (the channel closed)
	status   *exitStatus    // set by the request loop before exited is closed
	once     sync.Once
	err      error
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

// openExec opens a session channel on c, or takes the one opened ahead for
// it (see spareSlot). The next spare is opened when the command has ended
// (refillSpare), not while it starts: its open would travel the tunnel and
// keep the agent busy beside the exec request.
func openExec(c *ssh.Client) (*execSession, error) {
	ch, reqs := spareFor(c).take()
	if ch != nil {
		return &execSession{ch: ch, reqs: reqs, spare: true}, nil
	}
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return nil, channelError(err)
	}
	return &execSession{ch: ch, reqs: reqs}, nil
}

// A spareSlot keeps one session channel opened ahead on an SSH connection,
// so that an exec does not wait for the channel open's round trip through
// the tunnel (server → runner → agent and back) before it sends its
// command. The agent holds an unused session as a goroutine waiting for
// its requests; one per connection. The slot goes when the connection
// ends, or for good when an open fails (the agent refused it, or the
// connection is going): execs then open their channels themselves.
type spareSlot struct {
	mu      sync.Mutex
	ch      ssh.Channel
	reqs    <-chan *ssh.Request
	opening bool
	off     bool
	// claim, while opening, is where the open in flight hands its channel
	// to the one exec that came for it before it was ready.
	claim chan spareOpen
}

// spareOpen is a spare channel handed to the exec that claimed it (nil
// when the open failed).
type spareOpen struct {
	ch   ssh.Channel
	reqs <-chan *ssh.Request
}

// refillSpare opens c's next spare channel in the background, if none is
// ready or on its way: called once an exec's command has ended.
func refillSpare(c *ssh.Client) { spareFor(c).refill(c) }

var spares sync.Map // *ssh.Client → *spareSlot

// spareFor is c's slot, made on first use; it is dropped (and its spare
// closed) when c ends.
func spareFor(c *ssh.Client) *spareSlot {
	if v, ok := spares.Load(c); ok {
		return v.(*spareSlot)
	}
	v, loaded := spares.LoadOrStore(c, new(spareSlot))
	slot := v.(*spareSlot)
	if !loaded {
		go func() {
			c.Wait()
			spares.Delete(c)
			slot.mu.Lock()
			slot.off = true
			if slot.ch != nil {
				slot.ch.Close()
				slot.ch, slot.reqs = nil, nil
			}
			slot.mu.Unlock()
		}()
	}
	return slot
}

// take returns the spare channel if one is ready; if one is being opened
// and no other exec waits for it, it waits for that open (which is on its
// way, so sooner than a new one) and returns its channel; else nil.
func (s *spareSlot) take() (ssh.Channel, <-chan *ssh.Request) {
	s.mu.Lock()
	if ch, reqs := s.ch, s.reqs; ch != nil {
		s.ch, s.reqs = nil, nil
		s.mu.Unlock()
		return ch, reqs
	}
	if !s.opening || s.claim != nil {
		s.mu.Unlock()
		return nil, nil
	}
	claim := make(chan spareOpen, 1)
	s.claim = claim
	s.mu.Unlock()
	got := <-claim
	return got.ch, got.reqs
}

// refill opens the next spare in the background unless one is ready or
// being opened.
func (s *spareSlot) refill(c *ssh.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off || s.opening || s.ch != nil {
		return
	}
	s.opening = true
	go func() {
		ch, reqs, err := c.OpenChannel("session", nil)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.opening = false
		if err != nil {
			s.off = true
		}
		switch {
		case s.claim != nil: // an exec waits for it (nil when the open failed)
			s.claim <- spareOpen{ch, reqs}
			s.claim = nil
		case err != nil:
		case s.off:
			ch.Close()
		default:
			s.ch, s.reqs = ch, reqs
		}
	}()
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
	s.exited, s.reqsDone = make(chan struct{}), make(chan struct{})
	s.output.Add(2)
	go func() { defer s.output.Done(); io.Copy(s.stdout, s.ch) }()
	go func() { defer s.output.Done(); io.Copy(s.stderr, s.ch.Stderr()) }()
	go func() { defer close(s.reqsDone); s.readRequests() }()
	if s.stdin != nil {
		go func() {
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
				close(s.exited)
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
				close(s.exited)
			}
		}
		if r.WantReply {
			r.Reply(false, nil)
		}
	}
}

// Wait waits until the command's output was copied to its end (the
// agent's EOF, or the channel's close) and its exit status or signal
// arrived, or the channel closed without one: nil for exit 0, an
// *exitReport for another status or a signal, an error when the channel
// closed without either. It does not wait for the agent's channel close,
// which may come in a later packet than the EOF and the exit status
// (whatever the agent sends after those is not the command's); nor for
// the stdin copy, which Close ends.
func (s *execSession) Wait() error {
	s.once.Do(func() {
		s.output.Wait()
		var st *exitStatus
		select {
		case <-s.exited:
			st = s.status
		case <-s.reqsDone:
			select {
			case <-s.exited: // the close came with the exit status
				st = s.status
			default:
			}
		}
		switch {
		case st == nil:
			s.err = fmt.Errorf("the session ended without an exit status")
		case st.code != 0 || st.signal != "":
			s.err = &exitReport{*st}
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

// waitSpare waits until c's spare channel is open or will not be, and
// reports whether one is ready (for tests).
func waitSpare(ctx context.Context, c *ssh.Client) bool {
	slot := spareFor(c)
	for {
		slot.mu.Lock()
		ready, settled := slot.ch != nil, !slot.opening
		slot.mu.Unlock()
		if ready || settled || ctx.Err() != nil {
			return ready
		}
		runtime.Gosched()
	}
}

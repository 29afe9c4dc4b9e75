package agent

import (
	"io"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// watchedChannel is a session channel that tells when the client closed it.
// gliderlabs/ssh gives a handler no such signal (its context ends only with
// the whole connection), and its Session.Write turns "\n" into "\r\n" when a
// PTY was requested, which corrupts raw terminal output. The agent wraps the
// channel on accept, and finds the wrapper again from the Session through
// Stderr (the one channel method the session does not override).
type watchedChannel struct {
	gossh.Channel
	closed chan struct{} // closed when the channel's request stream ends
}

// stderrOf carries the wrapper along with the channel's stderr stream.
type stderrOf struct {
	io.ReadWriter
	ch *watchedChannel
}

// Stderr returns the extended-data stream, tagged with its channel.
func (c *watchedChannel) Stderr() io.ReadWriter {
	return &stderrOf{ReadWriter: c.Channel.Stderr(), ch: c}
}

// channelOf returns the wrapper behind s, or nil if s was not accepted
// through watchingNewChannel.
func channelOf(s ssh.Session) *watchedChannel {
	if e, ok := s.Stderr().(*stderrOf); ok {
		return e.ch
	}
	return nil
}

// watchingNewChannel wraps the channel that Accept returns.
type watchingNewChannel struct {
	gossh.NewChannel
}

// Accept accepts the channel and relays its requests, closing the wrapper's
// closed channel when the client closes the channel or the connection ends.
func (n watchingNewChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := n.NewChannel.Accept()
	if err != nil {
		return nil, nil, err
	}
	w := &watchedChannel{Channel: ch, closed: make(chan struct{})}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		var pending []*gossh.Request
		in := reqs
		for in != nil || len(pending) > 0 {
			var send chan *gossh.Request
			var next *gossh.Request
			if len(pending) > 0 {
				send, next = out, pending[0]
			}
			select {
			case r, ok := <-in:
				if !ok {
					close(w.closed)
					in = nil
					continue
				}
				pending = append(pending, r)
			case send <- next:
				pending = pending[1:]
			}
		}
	}()
	return w, out, nil
}

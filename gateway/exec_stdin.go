package gateway

import (
	"bytes"
	"io"
)

// feeder copies a command's stdin into its session.
type feeder struct {
	r    io.Reader
	w    io.WriteCloser
	done chan struct{}
}

// newFeeder sets up the session's stdin: handed to the session when it
// ends by itself (Wait then waits for it), else piped by a feeder.
func newFeeder(s *execSession, st streams) *feeder {
	if !st.piped {
		s.stdin = st.stdin
		if s.stdin == nil {
			s.stdin = eof{}
		}
		return nil
	}
	return &feeder{r: st.stdin, w: s.stdinPipe(), done: make(chan struct{})}
}

// eof is an empty stdin: the command reads EOF at once.
type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

func (f *feeder) start() {
	if f == nil {
		return
	}
	go func() {
		defer close(f.done)
		io.Copy(f.w, f.r)
		f.w.Close() // EOF for the command
	}()
}

// stop ends the copy once the command ended: a Closer is closed so a
// blocked Read returns; a reader that ends by itself is waited for.
func (f *feeder) stop() {
	if f == nil {
		return
	}
	c, isCloser := f.r.(io.Closer)
	if isCloser {
		c.Close()
	}
	if _, isBytes := f.r.(*bytes.Reader); isCloser || isBytes {
		<-f.done
	}
}

package sshws

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// spliceBuffer is the size of each direction's copy buffer and so of the
// largest WebSocket message Splice writes.
const spliceBuffer = 64 << 10

// halfCloser is a conn that can end its write side alone (TCP, TLS, Unix).
type halfCloser interface {
	CloseWrite() error
}

// result is how one direction of a splice ended.
type result struct {
	src, dst net.Conn
	err      error
	write    bool // err came from writing to dst, not from reading src
}

// Splice copies a to b and b to a until both directions are done or ctx
// ends, then closes both conns, and returns the first real error (end of
// stream and closed conns are not errors; an ended ctx returns ctx.Err()).
// No goroutine outlives it.
//
// When one side reaches end of stream after all its bytes were written to
// the other: if both conns can half-close (TCP, TLS, Unix sockets), the
// other side's write end is closed and the opposite direction goes on;
// otherwise (a WebSocket is involved) both conns are closed.
//
// A WebSocket side is closed with a status that tells its peer why: normal
// closure after a clean end, the other WebSocket side's own status and
// reason when that side was closed with one (a runner's 4404 "sandbox not
// running" reaches the client), StatusBadGateway when the other side
// failed otherwise, StatusGoingAway when ctx ended.
func Splice(ctx context.Context, a, b net.Conn) error {
	results := make(chan result, 2)
	go pipe(results, b, a)
	go pipe(results, a, b)
	s := splice{ctx: ctx, a: a, b: b, results: results}
	return s.run()
}

type splice struct {
	ctx     context.Context
	a, b    net.Conn
	results chan result
	pending int
}

func (s *splice) run() error {
	s.pending = 2
	r, ok := s.next()
	if !ok {
		return s.cancelled()
	}
	switch {
	case r.err == nil && canHalfClose(r.src, r.dst):
		r.dst.(halfCloser).CloseWrite()
		r2, ok := s.next()
		if !ok {
			return s.cancelled()
		}
		s.closeBoth(r2.src, r2.err)
		return s.finish(realErr(r2.err))
	case r.write:
		// dst broke: close it, and let its reader say why (a peer's close
		// status arrives there) before telling src.
		r.dst.Close()
		r2, ok := s.next()
		if !ok {
			return s.cancelled()
		}
		cause := firstReal(r2.err, r.err)
		s.closeBoth(r.dst, cause)
		return s.finish(cause)
	default:
		s.closeBoth(r.src, r.err)
		return s.finish(realErr(r.err))
	}
}

// next waits for one direction to end; false means ctx ended first.
func (s *splice) next() (result, bool) {
	select {
	case r := <-s.results:
		s.pending--
		return r, true
	case <-s.ctx.Done():
		return result{}, false
	}
}

// closeBoth closes both conns at once (a WebSocket close handshake may
// wait on its peer): failed, whose read ended with cause, with a normal
// close; the other with the status that forwards cause.
func (s *splice) closeBoth(failed net.Conn, cause error) {
	other := s.a
	if failed == s.a {
		other = s.b
	}
	code, reason := forwardStatus(cause)
	var wg sync.WaitGroup
	wg.Go(func() { failed.Close() })
	wg.Go(func() { closeConn(other, code, reason) })
	wg.Wait()
}

func (s *splice) cancelled() error {
	var wg sync.WaitGroup
	wg.Go(func() { closeConn(s.a, StatusGoingAway, "") })
	wg.Go(func() { closeConn(s.b, StatusGoingAway, "") })
	wg.Wait()
	s.finish(nil)
	return s.ctx.Err()
}

// finish waits for the directions still running (their conns are closed)
// and returns err.
func (s *splice) finish(err error) error {
	for ; s.pending > 0; s.pending-- {
		<-s.results
	}
	return err
}

// pipe copies src to dst and reports how it ended.
func pipe(results chan<- result, dst, src net.Conn) {
	buf := make([]byte, spliceBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				results <- result{src: src, dst: dst, err: werr, write: true}
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			results <- result{src: src, dst: dst, err: err}
			return
		}
	}
}

func canHalfClose(src, dst net.Conn) bool {
	_, s := src.(halfCloser)
	_, d := dst.(halfCloser)
	return s && d
}

func closeConn(c net.Conn, code int, reason string) {
	if ws, ok := c.(*wsConn); ok {
		ws.closeWith(code, reason)
		return
	}
	c.Close()
}

// realErr drops what only says a stream ended or a conn was closed.
func realErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func firstReal(errs ...error) error {
	for _, err := range errs {
		if err = realErr(err); err != nil {
			return err
		}
	}
	return nil
}

// forwardStatus is the close status that tells a WebSocket peer why the
// other side of its splice ended with err.
func forwardStatus(err error) (int, string) {
	var ce *CloseError
	switch {
	case realErr(err) == nil:
		return StatusNormalClosure, ""
	case errors.As(err, &ce) && sendable(ce.Code):
		return ce.Code, ce.Reason
	case errors.As(err, &ce):
		return StatusBadGateway, "tunnel peer lost: " + ce.Reason
	case errors.Is(err, ErrPeerUnresponsive):
		return StatusBadGateway, "tunnel peer stopped answering pings"
	default:
		return StatusBadGateway, "tunnel peer failed"
	}
}

// sendable reports whether a close frame may carry code (RFC 6455 7.4).
func sendable(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	default:
		return code >= 3000 && code <= 4999
	}
}

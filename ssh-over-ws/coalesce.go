package sshws

import (
	"encoding/binary"
	"io"
	"net/http"
	"sync"
)

// A WebSocket client must mask what it sends, and coder/websocket masks
// through its 4 KiB bufio.Writer, flushing each full buffer: a 64 KiB
// message leaves the client as sixteen 4 KiB writes, each a syscall, and
// the next hop, reading what has arrived, relays it in 4 KiB pieces with a
// wake-up each. frameWriter sits under the library's writer (as the
// upgraded connection the library writes to) and hands the socket each
// frame whole: it reads the frame headers in the byte stream, keeps the
// frame's bytes until the last one is written, then writes them at once.
// The library writes a frame from start to end inside one call under its
// write lock, so nothing waits in the buffer after that call returns.

// coalesceMax bounds what frameWriter keeps: a frame longer than this (the
// 64 KiB Splice writes, plus its header, fit) goes out in pieces of it.
const coalesceMax = spliceBuffer + maxFrameHeader

// maxFrameHeader is a WebSocket frame header's largest size: 2 bytes, an
// 8-byte extended length and a 4-byte masking key.
const maxFrameHeader = 14

var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, coalesceMax); return &b }}

// frameWriter is the upgraded connection as the library sees it: writes
// are gathered frame by frame; reads go straight through or, when br is
// set (Dial's conns), through a frameReader under the library's 4 KiB
// buffer, so that a message of an SSH packet that has arrived is taken
// from the socket in one read, not two (see frameHijacker), and the conn
// sees whether the next message is here.
type frameWriter struct {
	io.ReadWriteCloser
	br io.Reader // a frameReader for Dial's conns

	buf  *[]byte // from coalescePool while a frame is being gathered
	hdr  [maxFrameHeader]byte
	nhdr int   // header bytes seen of the current frame
	left int64 // payload bytes still to come; -1 while in the header
}

func newFrameWriter(rwc io.ReadWriteCloser) *frameWriter {
	return &frameWriter{ReadWriteCloser: rwc, left: -1}
}

// headerLen is the full header's length once its first two bytes are known.
func headerLen(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// payloadLen reads the payload length from a complete header.
func payloadLen(h []byte) int64 {
	switch l := h[1] & 0x7f; l {
	case 126:
		return int64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return int64(binary.BigEndian.Uint64(h[2:10]) & (1<<63 - 1))
	default:
		return int64(l)
	}
}

// Read reads from br when set, else from the connection.
func (w *frameWriter) Read(p []byte) (int, error) {
	if w.br != nil {
		return w.br.Read(p)
	}
	return w.ReadWriteCloser.Read(p)
}

// Write gathers p into the current frame and writes what completes a frame
// (or fills the buffer) to the connection.
func (w *frameWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = coalescePool.Get().(*[]byte)
		}
		if w.left < 0 { // in a header
			w.hdr[w.nhdr] = p[0]
			w.nhdr++
			*w.buf = append(*w.buf, p[0])
			p = p[1:]
			written++
			if w.nhdr >= 2 && w.nhdr == headerLen(w.hdr[0], w.hdr[1]) {
				w.left = payloadLen(w.hdr[:w.nhdr])
				w.nhdr = 0
			}
		} else {
			n := min(int64(len(p)), w.left, int64(coalesceMax-len(*w.buf)))
			*w.buf = append(*w.buf, p[:n]...)
			p = p[n:]
			written += int(n)
			w.left -= n
		}
		if w.left == 0 {
			w.left = -1
			if err := w.flush(true); err != nil {
				return written, err
			}
		} else if len(*w.buf) == coalesceMax {
			if err := w.flush(false); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush writes what is gathered; at a frame's end it returns the buffer to
// the pool, so an idle connection holds none.
func (w *frameWriter) flush(end bool) error {
	_, err := w.ReadWriteCloser.Write(*w.buf)
	*w.buf = (*w.buf)[:0]
	if end || err != nil {
		coalescePool.Put(w.buf)
		w.buf = nil
	}
	return err
}

// coalescingTransport hands the library a frameWriter as the body of a 101
// Switching Protocols answer (the upgraded connection it writes to).
// The body reads through a frameReader, which frames receives.
type coalescingTransport struct {
	base   http.RoundTripper
	frames **frameReader
}

func (t coalescingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		return resp, err
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
		w := newFrameWriter(rwc)
		*t.frames = newFrameReader(rwc)
		w.br = *t.frames
		resp.Body = w
	}
	return resp, nil
}

// coalescingClient is c with its transport wrapped by coalescingTransport.
func coalescingClient(c *http.Client, frames **frameReader) *http.Client {
	cc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = coalescingTransport{base: base, frames: frames}
	return &cc
}

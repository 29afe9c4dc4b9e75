package sshws

import (
	"io"
	"sync"
)

// An SSH implementation writes each packet in more than one piece:
// x/crypto/ssh (the CLI's and SDK's client, the agent's server) writes a
// 32 KiB packet through a 4 KiB bufio.Writer as a 4 KiB write and a 28 KiB
// one, and each Write on a tunnel conn is a message. A relay that passed
// each message on alone would send both pieces on as two messages at every
// hop, and the runner would write them to the agent's socket in two
// syscalls. frameReader lets a conn's Read take a message that has already
// arrived whole along with the one it has just read (wsConn.read), without
// ever waiting for one.

// frameReader sits under the library's bufio.Reader as the connection it
// reads from. It reads the socket through a readBuffer of its own and hands
// the library bytes up to the end of the current frame and never past it,
// so that when the library has read a message to its end it holds nothing
// of the next frame: all of it that has arrived is here, where
// nextComplete can see it. It tracks the frame headers in the stream as
// frameWriter does on the write side.
type frameReader struct {
	src io.Reader

	// mu guards the indices and the parser's state: the library's reads
	// come one at a time, but a close handshake may read while the conn's
	// reader asks nextComplete. The socket read itself runs without it,
	// into the free part of buf, which nextComplete does not look at.
	mu   sync.Mutex
	buf  []byte
	r, w int
	err  error // the socket's error, returned once buf is drained
	hdr  [maxFrameHeader]byte
	nhdr int   // header bytes handed of the current frame
	left int64 // payload bytes of the current frame not yet handed; -1 while in the header
}

func newFrameReader(src io.Reader) *frameReader {
	return &frameReader{src: src, buf: make([]byte, readBuffer), left: -1}
}

// Read hands out buffered bytes, at most to the end of the current frame
// (or of its header while the header is incomplete), reading the socket
// when nothing is buffered.
func (f *frameReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.r == f.w {
		if f.err != nil {
			return 0, f.err
		}
		f.r, f.w = 0, 0
		f.mu.Unlock()
		n, err := f.src.Read(f.buf)
		f.mu.Lock()
		f.w, f.err = n, err
		if n == 0 {
			f.err = nil
			return 0, err
		}
	}
	n := 0
	for n < len(p) && f.r < f.w {
		if f.left < 0 { // a header byte
			b := f.buf[f.r]
			f.hdr[f.nhdr] = b
			f.nhdr++
			p[n] = b
			n++
			f.r++
			if f.nhdr >= 2 && f.nhdr == headerLen(f.hdr[0], f.hdr[1]) {
				f.left = payloadLen(f.hdr[:f.nhdr])
				f.nhdr = 0
				if f.left == 0 { // an empty frame ends with its header
					f.left = -1
					break
				}
			}
			continue
		}
		m := copy(p[n:], f.buf[f.r:min(int64(f.w), int64(f.r)+f.left)])
		n += m
		f.r += m
		f.left -= int64(m)
		if f.left == 0 {
			f.left = -1
			break
		}
	}
	return n, nil
}

// nextComplete reports whether the stream stands at the start of a frame
// and that frame has arrived whole: a final binary frame (a message of one
// frame) of at most room bytes of payload. When it is true and the library
// has read the previous message to its end, reading the next message
// cannot wait.
func (f *frameReader) nextComplete(room int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.left >= 0 || f.nhdr != 0 {
		return false
	}
	b := f.buf[f.r:f.w]
	if len(b) < 2 || b[0] != 0x82 { // FIN, no RSV bits, binary
		return false
	}
	hl := headerLen(b[0], b[1])
	if len(b) < hl {
		return false
	}
	l := payloadLen(b[:hl])
	return l <= int64(len(b)-hl) && l <= int64(room)
}

package agent

import "sync"

// ring keeps the last max bytes a process wrote to one stream, addressed
// by absolute offsets: byte n of the stream is at offset n whether or not
// it is still kept. A reader asks from any offset; one that fell out of
// the ring is told where the kept bytes start now.
type ring struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	start   int64         // offset of buf[0]
	closed  bool          // the stream ended (the process exited and its pipe drained)
	changed chan struct{} // closed and replaced at every write and at close
}

func newRing(max int) *ring { return &ring{max: max, changed: make(chan struct{})} }

// Write appends p, dropping the oldest bytes beyond max.
func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if len(p) >= r.max {
		r.start += int64(len(r.buf) + len(p) - r.max)
		r.buf = append(r.buf[:0], p[len(p)-r.max:]...)
	} else {
		if over := len(r.buf) + len(p) - r.max; over > 0 {
			r.start += int64(over)
			r.buf = append(r.buf[:0], r.buf[over:]...)
		}
		r.buf = append(r.buf, p...)
	}
	r.wake()
	return n, nil
}

// close marks the end of the stream.
func (r *ring) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.wake()
}

func (r *ring) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// chunk is what a read returns: the bytes from offset (which is later than
// the offset asked for when that one fell out of the ring), and whether
// the stream has ended after them.
type chunk struct {
	offset int64
	data   []byte
	end    int64 // the stream's total length so far
	eof    bool  // closed, and nothing after data
}

// read returns up to n bytes from off (clamped into what is kept) and a
// channel that is closed at the next change, for a reader that wants to
// wait for more.
func (r *ring) read(off int64, n int) (chunk, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.start + int64(len(r.buf))
	if off < r.start {
		off = r.start
	}
	if off > end {
		off = end
	}
	i := int(off - r.start)
	j := min(len(r.buf), i+n)
	c := chunk{offset: off, data: append([]byte(nil), r.buf[i:j]...), end: end}
	c.eof = r.closed && off+int64(len(c.data)) == end
	return c, r.changed
}

// bounds is the first kept offset and the stream's length.
func (r *ring) bounds() (start, end int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start, r.start + int64(len(r.buf))
}

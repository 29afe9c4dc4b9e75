package sshws

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

// recorder keeps every Write it is given, as the socket would see them.
type recorder struct {
	io.Reader
	writes [][]byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}
func (r *recorder) Close() error { return nil }

// frame is a masked client frame of n payload bytes, as a WebSocket client
// writes it (every header length form).
func frame(n int, fill byte) []byte {
	h := []byte{0x82}
	switch {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n < 1<<16:
		h = append(h, 0x80|126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	h = append(h, 1, 2, 3, 4) // masking key
	return append(h, bytes.Repeat([]byte{fill}, n)...)
}

// The socket sees each frame in one write however the library cuts it
// (header alone, 4 KiB pieces, several frames at once), a frame longer
// than the buffer in pieces of coalesceMax, and nothing else changed.
func TestFrameWriterWritesWholeFrames(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 4096, 65535, 65536, spliceBuffer, coalesceMax - 14, coalesceMax, 3*coalesceMax + 7}
	var frames [][]byte
	for i, n := range sizes {
		frames = append(frames, frame(n, byte(i)))
	}
	stream := bytes.Join(frames, nil)
	for _, cut := range []int{1, 2, 3, 4096, 1 << 20} {
		rec := &recorder{}
		w := newFrameWriter(rec)
		rng := rand.New(rand.NewPCG(uint64(cut), 1))
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(cut))
			if m, err := w.Write(rest[:n]); m != n || err != nil {
				t.Fatalf("cut %d: Write = %d, %v; want %d, nil", cut, m, err, n)
			}
			rest = rest[n:]
		}
		if got := bytes.Join(rec.writes, nil); !bytes.Equal(got, stream) {
			t.Fatalf("cut %d: the socket got %d bytes, not the %d written (or not in order)", cut, len(got), len(stream))
		}
		var want []int // write sizes: each frame whole, long ones in coalesceMax pieces
		for _, f := range frames {
			for len(f) > coalesceMax {
				want = append(want, coalesceMax)
				f = f[coalesceMax:]
			}
			want = append(want, len(f))
		}
		var got []int
		for _, p := range rec.writes {
			got = append(got, len(p))
		}
		if !slices.Equal(got, want) {
			t.Errorf("cut %d: write sizes %v, want %v", cut, got, want)
		}
		if w.buf != nil {
			t.Errorf("cut %d: a buffer is still held between frames", cut)
		}
	}
}

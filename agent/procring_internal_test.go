package agent

import (
	"bytes"
	"testing"
)

func TestRingKeepsTheLastBytes(t *testing.T) {
	r := newRing(8)
	r.Write([]byte("abcde"))
	r.Write([]byte("fghij")) // abcdefghij: ab dropped
	for _, tc := range []struct {
		off, wantOff int64
		want         string
	}{
		{0, 2, "cdefghij"}, {2, 2, "cdefghij"}, {5, 5, "fghij"}, {10, 10, ""}, {99, 10, ""},
	} {
		c, _ := r.read(tc.off, 100)
		if c.offset != tc.wantOff || string(c.data) != tc.want || c.end != 10 || c.eof {
			t.Errorf("read(%d) = offset %d %q end %d eof %v; want offset %d %q", tc.off, c.offset, c.data, c.end, c.eof, tc.wantOff, tc.want)
		}
	}
	r.Write(bytes.Repeat([]byte("z"), 20)) // more than the ring at once
	if start, end := r.bounds(); start != 22 || end != 30 {
		t.Errorf("bounds after a large write: %d, %d", start, end)
	}
	c, changed := r.read(30, 100)
	r.close()
	<-changed // close wakes a waiting reader
	if c, _ = r.read(30, 100); !c.eof {
		t.Errorf("read at the end after close: %+v", c)
	}
}

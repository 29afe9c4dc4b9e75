package gateway

import (
	"encoding/base64"
	"sync"
	"unicode/utf8"
)

// Encodings of captured output.
const (
	EncodingUTF8   = "utf-8"
	EncodingBase64 = "base64"
)

// Output is what one stream of a command wrote, up to the request's cap.
type Output struct {
	Data      []byte
	Truncated bool // the command wrote more than Data holds
}

// Text renders the output for JSON: as-is when it is valid UTF-8 (a
// multi-byte character cut by truncation is dropped), else base64 of all
// of Data.
func (o Output) Text() (text, encoding string) {
	data := o.Data
	if o.Truncated {
		data = trimPartialRune(data)
	}
	if utf8.Valid(data) {
		return string(data), EncodingUTF8
	}
	return base64.StdEncoding.EncodeToString(o.Data), EncodingBase64
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}

// capture keeps the first max bytes written to it and drops the rest,
// without ever failing a write (the command must not block on a full
// stream).
type capture struct {
	max       int
	buf       []byte
	truncated bool
}

func (c *capture) Write(p []byte) (int, error) {
	keep := p
	if room := c.max - len(c.buf); len(p) > room {
		c.truncated = true
		keep = p[:max(room, 0)]
	}
	c.buf = append(c.buf, keep...)
	return len(p), nil
}

func (c *capture) output() Output { return Output{Data: c.buf, Truncated: c.truncated} }

// serialWriter calls fn with each chunk, one call at a time across every
// serialWriter sharing mu.
type serialWriter struct {
	mu *sync.Mutex
	fn func([]byte)
}

func (w serialWriter) Write(p []byte) (int, error) {
	if w.fn != nil {
		w.mu.Lock()
		w.fn(p)
		w.mu.Unlock()
	}
	return len(p), nil
}

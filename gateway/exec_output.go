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

// Encoded returns the bytes to send and how: as UTF-8 text when the output
// is valid UTF-8 (a multi-byte character cut by truncation is dropped, so
// the text always ends on a character boundary) and JSON carries it in at
// most twice its size, else EncodingBase64 of all of Data. Text full of
// control characters (NUL is six bytes in JSON, \u0000) is thus sent as
// base64, and no stream ever costs more than 2× its bytes in a response.
func (o Output) Encoded() (data []byte, encoding string) {
	data = o.Data
	if o.Truncated {
		data = TrimPartialRune(data)
	}
	if utf8.Valid(data) && JSONStringLen(data) <= 2*len(data)+2 {
		return data, EncodingUTF8
	}
	return o.Data, EncodingBase64
}

// Text renders the output as a string for JSON, as Encoded decides.
func (o Output) Text() (text, encoding string) {
	data, enc := o.Encoded()
	if enc == EncodingBase64 {
		return base64.StdEncoding.EncodeToString(data), enc
	}
	return string(data), enc
}

// JSONStringLen is the length of b as a JSON string, quotes included, when
// only '"', '\\' and control characters are escaped.
func JSONStringLen(b []byte) int {
	n := len(b) + 2
	for _, c := range b {
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5 // \u00XX
		}
	}
	return n
}

// TrimPartialRune drops an incomplete UTF-8 sequence at the end of b, so a
// cut never splits a multi-byte character.
func TrimPartialRune(b []byte) []byte {
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
// stream). Its buffer grows with what is written and never beyond max, so
// a command that writes nothing costs nothing.
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
	if len(keep) == 0 {
		return len(p), nil
	}
	if need := len(c.buf) + len(keep); need > cap(c.buf) {
		grown := make([]byte, len(c.buf), min(max(2*cap(c.buf), need, 4096), c.max))
		copy(grown, c.buf)
		c.buf = grown
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

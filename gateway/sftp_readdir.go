package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
)

// pkg/sftp v1.13 reads a whole directory into memory before it returns
// (Client.ReadDir); a tenant's directory of a million files would be a
// million FileInfos in the server. dirReader speaks just enough SFTP v3
// (draft-ietf-secsh-filexfer-02) on its own session to read a directory in
// the batches the agent sends (128 entries), one request at a time.

// SFTP packet types and status codes used here.
const (
	fxpInit    = 1
	fxpVersion = 2
	fxpClose   = 4
	fxpOpendir = 11
	fxpReaddir = 12
	fxpStatus  = 101
	fxpHandle  = 102
	fxpName    = 104

	fxEOF     = 1
	fxNoSuch  = 2
	fxDenied  = 3
	maxPacket = 1 << 20 // the agent's batches are far smaller
)

// rawSFTP is one SFTP session for directory reads; its requests are made
// one at a time, and it may hold several directory handles open.
type rawSFTP struct {
	sess *ssh.Session
	w    io.WriteCloser
	r    io.Reader
	id   uint32
	stop func() bool // unhooks the session from ctx
}

// dirReader reads one directory on its own session.
type dirReader struct {
	s      *rawSFTP
	handle string
}

// statusError is an SFTP status other than OK and EOF.
type statusError struct {
	code uint32
	msg  string
}

func (e *statusError) Error() string { return fmt.Sprintf("sftp status %d: %s", e.code, e.msg) }

// Is lets fileError read the status as the os error it stands for.
func (e *statusError) Is(target error) bool {
	return (e.code == fxNoSuch && target == os.ErrNotExist) || (e.code == fxDenied && target == os.ErrPermission)
}

// openRawSFTP starts an SFTP session on c; ctx's end closes it (failing
// whatever it does then).
func openRawSFTP(ctx context.Context, c *ssh.Client) (*rawSFTP, error) {
	sess, err := newSession(c)
	if err != nil {
		return nil, err
	}
	s := &rawSFTP{sess: sess}
	s.stop = context.AfterFunc(ctx, func() { sess.Close() })
	if err := s.start(); err != nil {
		s.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return s, nil
}

func (s *rawSFTP) start() error {
	var err error
	if s.w, err = s.sess.StdinPipe(); err != nil {
		return err
	}
	if s.r, err = s.sess.StdoutPipe(); err != nil {
		return err
	}
	if err := s.sess.RequestSubsystem("sftp"); err != nil {
		return channelError(err)
	}
	if err := s.send(fxpInit, binary.BigEndian.AppendUint32(nil, 3)); err != nil {
		return err
	}
	if typ, _, err := s.recv(); err != nil || typ != fxpVersion {
		return fmt.Errorf("sftp version exchange: type %d: %v", typ, err)
	}
	return nil
}

// Close ends the session (and every handle it holds).
func (s *rawSFTP) Close() error {
	s.stop()
	return s.sess.Close()
}

// opendir opens directory p and returns its handle.
func (s *rawSFTP) opendir(p string) (string, error) {
	typ, data, err := s.request(fxpOpendir, appendString(nil, p))
	if err != nil {
		return "", err
	}
	if typ != fxpHandle {
		return "", fmt.Errorf("opendir: unexpected packet %d", typ)
	}
	h, _, err := readString(data)
	return h, err
}

// readdir returns the next batch of a directory's entries; io.EOF at its
// end.
func (s *rawSFTP) readdir(handle string) ([]dirEntry, error) {
	typ, data, err := s.request(fxpReaddir, appendString(nil, handle))
	if err != nil {
		return nil, err
	}
	if typ != fxpName {
		return nil, fmt.Errorf("readdir: unexpected packet %d", typ)
	}
	return parseNames(data)
}

// closeHandle closes a directory handle.
func (s *rawSFTP) closeHandle(handle string) error {
	_, _, err := s.request(fxpClose, appendString(nil, handle))
	return err
}

// openDir opens directory p on a new session of its own.
func openDir(ctx context.Context, c *ssh.Client, p string) (*dirReader, error) {
	s, err := openRawSFTP(ctx, c)
	if err != nil {
		return nil, err
	}
	h, err := s.opendir(p)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &dirReader{s: s, handle: h}, nil
}

// next returns the next batch of entries; io.EOF at the end.
func (d *dirReader) next(ctx context.Context) ([]dirEntry, error) {
	b, err := d.s.readdir(d.handle)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return b, err
}

// Close closes the directory and its session.
func (d *dirReader) Close() error {
	d.s.closeHandle(d.handle)
	return d.s.Close()
}

// request sends one request with the next id and reads its answer; a
// status other than OK is returned as an error (io.EOF for EOF).
func (s *rawSFTP) request(typ byte, payload []byte) (byte, []byte, error) {
	s.id++
	if err := s.send(typ, append(binary.BigEndian.AppendUint32(nil, s.id), payload...)); err != nil {
		return 0, nil, err
	}
	rtyp, data, err := s.recv()
	if err != nil {
		return 0, nil, err
	}
	if len(data) < 4 || binary.BigEndian.Uint32(data) != s.id {
		return 0, nil, errors.New("sftp: answer to another request")
	}
	data = data[4:]
	if rtyp == fxpStatus {
		return rtyp, nil, statusOf(data)
	}
	return rtyp, data, nil
}

func statusOf(data []byte) error {
	if len(data) < 4 {
		return errors.New("sftp: short status")
	}
	code := binary.BigEndian.Uint32(data)
	msg, _, _ := readString(data[4:])
	switch code {
	case 0:
		return nil
	case fxEOF:
		return io.EOF
	}
	return &statusError{code: code, msg: msg}
}

func (s *rawSFTP) send(typ byte, payload []byte) error {
	pkt := binary.BigEndian.AppendUint32(nil, uint32(len(payload)+1))
	pkt = append(append(pkt, typ), payload...)
	_, err := s.w.Write(pkt)
	return err
}

func (s *rawSFTP) recv() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("sftp read: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n > maxPacket {
		return 0, nil, fmt.Errorf("sftp: packet of %d bytes", n)
	}
	data := make([]byte, n-1)
	if _, err := io.ReadFull(s.r, data); err != nil {
		return 0, nil, fmt.Errorf("sftp read: %w", err)
	}
	return hdr[4], data, nil
}

// dirEntry is one name of a NAME packet.
type dirEntry struct {
	name     string
	size     int64
	mode     os.FileMode
	modTime  time.Time
	uid, gid uint32
}

func parseNames(data []byte) ([]dirEntry, error) {
	if len(data) < 4 {
		return nil, errors.New("sftp: short name packet")
	}
	count := binary.BigEndian.Uint32(data)
	data = data[4:]
	out := make([]dirEntry, 0, min(count, 1024))
	for range count {
		var e dirEntry
		var err error
		if e.name, data, err = readString(data); err != nil {
			return nil, err
		}
		if _, data, err = readString(data); err != nil { // long name
			return nil, err
		}
		if data, err = e.parseAttrs(data); err != nil {
			return nil, err
		}
		if e.name != "." && e.name != ".." {
			out = append(out, e)
		}
	}
	return out, nil
}

// parseAttrs reads an ATTRS structure into e.
func (e *dirEntry) parseAttrs(b []byte) ([]byte, error) {
	short := errors.New("sftp: short attributes")
	u32 := func() (uint32, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v := binary.BigEndian.Uint32(b)
		b = b[4:]
		return v, true
	}
	flags, ok := u32()
	if !ok {
		return nil, short
	}
	if flags&0x1 != 0 {
		hi, ok1 := u32()
		lo, ok2 := u32()
		if !ok1 || !ok2 {
			return nil, short
		}
		e.size = int64(hi)<<32 | int64(lo)
	}
	if flags&0x2 != 0 {
		var ok1, ok2 bool
		e.uid, ok1 = u32()
		e.gid, ok2 = u32()
		if !ok1 || !ok2 {
			return nil, short
		}
	}
	if flags&0x4 != 0 {
		perm, ok := u32()
		if !ok {
			return nil, short
		}
		e.mode = unixToFileMode(perm)
	}
	if flags&0x8 != 0 {
		_, ok1 := u32()
		mtime, ok2 := u32()
		if !ok1 || !ok2 {
			return nil, short
		}
		e.modTime = time.Unix(int64(mtime), 0)
	}
	if flags&0x80000000 != 0 {
		n, ok := u32()
		if !ok {
			return nil, short
		}
		for range 2 * n {
			var err error
			if _, b, err = readString(b); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// unixToFileMode converts a Unix st_mode to an os.FileMode.
func unixToFileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o040000:
		mode |= os.ModeDir
	case 0o120000:
		mode |= os.ModeSymlink
	case 0o010000:
		mode |= os.ModeNamedPipe
	case 0o140000:
		mode |= os.ModeSocket
	case 0o020000:
		mode |= os.ModeDevice | os.ModeCharDevice
	case 0o060000:
		mode |= os.ModeDevice
	}
	for bit, flag := range map[uint32]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if m&bit != 0 {
			mode |= flag
		}
	}
	return mode
}

func appendString(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}

func readString(b []byte) (string, []byte, error) {
	if len(b) < 4 {
		return "", nil, errors.New("sftp: short string")
	}
	n := binary.BigEndian.Uint32(b)
	if uint32(len(b)-4) < n {
		return "", nil, errors.New("sftp: short string")
	}
	return string(b[4 : 4+n]), b[4+n:], nil
}

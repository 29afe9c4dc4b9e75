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

// dirReader is one SFTP session reading one directory.
type dirReader struct {
	sess   *ssh.Session
	w      io.WriteCloser
	r      io.Reader
	handle string
	id     uint32
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

// openDir starts an SFTP session on c and opens directory p.
func openDir(ctx context.Context, c *ssh.Client, p string) (*dirReader, error) {
	sess, err := newSession(c)
	if err != nil {
		return nil, err
	}
	d := &dirReader{sess: sess}
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	if err := d.start(p); err != nil {
		sess.Close()
		return nil, err
	}
	return d, nil
}

func (d *dirReader) start(p string) error {
	var err error
	if d.w, err = d.sess.StdinPipe(); err != nil {
		return err
	}
	if d.r, err = d.sess.StdoutPipe(); err != nil {
		return err
	}
	if err := d.sess.RequestSubsystem("sftp"); err != nil {
		return channelError(err)
	}
	if err := d.send(fxpInit, binary.BigEndian.AppendUint32(nil, 3)); err != nil {
		return err
	}
	if typ, _, err := d.recv(); err != nil || typ != fxpVersion {
		return fmt.Errorf("sftp version exchange: type %d: %v", typ, err)
	}
	typ, data, err := d.request(fxpOpendir, appendString(nil, p))
	if err != nil {
		return err
	}
	if typ != fxpHandle {
		return fmt.Errorf("opendir: unexpected packet %d", typ)
	}
	d.handle, _, err = readString(data)
	return err
}

// next returns the next batch of entries; io.EOF at the end. ctx ends the
// read by closing the session.
func (d *dirReader) next(ctx context.Context) ([]dirEntry, error) {
	stop := context.AfterFunc(ctx, func() { d.sess.Close() })
	defer stop()
	typ, data, err := d.request(fxpReaddir, appendString(nil, d.handle))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if typ != fxpName {
		return nil, fmt.Errorf("readdir: unexpected packet %d", typ)
	}
	return parseNames(data)
}

// Close closes the directory handle and the session.
func (d *dirReader) Close() error {
	if d.handle != "" {
		d.request(fxpClose, appendString(nil, d.handle))
	}
	return d.sess.Close()
}

// request sends one request with the next id and reads its answer; a
// status other than OK is returned as an error (io.EOF for EOF).
func (d *dirReader) request(typ byte, payload []byte) (byte, []byte, error) {
	d.id++
	if err := d.send(typ, append(binary.BigEndian.AppendUint32(nil, d.id), payload...)); err != nil {
		return 0, nil, err
	}
	rtyp, data, err := d.recv()
	if err != nil {
		return 0, nil, err
	}
	if len(data) < 4 || binary.BigEndian.Uint32(data) != d.id {
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

func (d *dirReader) send(typ byte, payload []byte) error {
	pkt := binary.BigEndian.AppendUint32(nil, uint32(len(payload)+1))
	pkt = append(append(pkt, typ), payload...)
	_, err := d.w.Write(pkt)
	return err
}

func (d *dirReader) recv() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(d.r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("sftp read: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n > maxPacket {
		return 0, nil, fmt.Errorf("sftp: packet of %d bytes", n)
	}
	data := make([]byte, n-1)
	if _, err := io.ReadFull(d.r, data); err != nil {
		return 0, nil, fmt.Errorf("sftp read: %w", err)
	}
	return hdr[4], data, nil
}

// dirEntry is one name of a NAME packet.
type dirEntry struct {
	name    string
	size    int64
	mode    os.FileMode
	modTime time.Time
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
		if _, ok := u32(); !ok {
			return nil, short
		}
		if _, ok := u32(); !ok {
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

package gateway

import (
	"context"
	"io"
	"os"
	"path"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// File types in a FileEntry.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeOther   = "other"
)

// FileEntry is one directory entry (symlinks are not followed).
type FileEntry struct {
	Name    string
	Path    string // absolute
	Size    int64
	Mode    os.FileMode
	ModTime time.Time
	Type    string // TypeFile, TypeDir, TypeSymlink or TypeOther
}

// ReadFile opens the file at p (relative paths start in the user's home)
// for streaming. The reader implements io.WriterTo, so io.Copy reads with
// many requests in flight. Close it when done.
func ReadFile(ctx context.Context, c *ssh.Client, p string) (io.ReadCloser, os.FileInfo, error) {
	sc, err := open(ctx, c, p)
	if err != nil {
		return nil, nil, err
	}
	fi, err := sc.Stat(p)
	if err != nil {
		return nil, nil, fileError("stat", p, err)
	}
	if fi.IsDir() {
		return nil, nil, codepod.Errorf(codepod.EINVALID, "%s is a directory", p)
	}
	f, err := sc.Open(p)
	if err != nil {
		return nil, nil, fileError("open", p, err)
	}
	return f, fi, nil
}

// WriteFile streams r into the file at p, creating it and its parent
// directories and truncating an existing file. mode sets the permission
// bits; 0 means 0644 for a new file and unchanged for an existing one.
// The file is written in place: a failed upload leaves it partly written.
func WriteFile(ctx context.Context, c *ssh.Client, p string, r io.Reader, mode os.FileMode) (n int64, err error) {
	sc, err := open(ctx, c, p)
	if err != nil {
		return 0, err
	}
	if dir := path.Dir(p); dir != "." && dir != "/" {
		if err := sc.MkdirAll(dir); err != nil {
			return 0, fileError("create parent directories of", p, err)
		}
	}
	f, err := sc.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return 0, fileError("create", p, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fileError("close", p, cerr)
		}
	}()
	if mode != 0 {
		if err := f.Chmod(mode.Perm() | mode&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)); err != nil {
			return 0, fileError("chmod", p, err)
		}
	}
	n, err = f.ReadFromWithConcurrency(ctxReader{ctx, r}, 0)
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, fileError("write", p, err)
	}
	return n, nil
}

// ctxReader fails reads once ctx has ended.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// absPath resolves a relative p against the SFTP working directory (the
// user's home).
func absPath(sc *sftp.Client, p string) (string, error) {
	if path.IsAbs(p) {
		return path.Clean(p), nil
	}
	wd, err := sc.Getwd()
	if err != nil {
		return "", fileError("resolve", p, err)
	}
	return path.Join(wd, p), nil
}

// open checks p and returns c's SFTP client.
func open(ctx context.Context, c *ssh.Client, p string) (*sftp.Client, error) {
	if err := checkPath(p); err != nil {
		return nil, err
	}
	return sftpClient(ctx, c)
}

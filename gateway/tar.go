package gateway

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/codepod-dev/codepod"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// TarDir writes a tar stream of directory dir's contents to w, with names
// relative to dir ("a.txt", "sub/", "sub/b.txt"). Symlinks are archived as
// links, never followed (dir itself may be a symlink to a directory).
// Entries that are neither files, directories nor symlinks (sockets,
// devices, FIFOs) are skipped.
//
// It streams: directories are read in the agent's batches (one open
// handle and at most one batch of 128 names per level of the tree being
// walked) and files are copied as they are reached, so memory does not
// grow with the size of a directory or of the tree.
func TarDir(ctx context.Context, c *ssh.Client, dir string, w io.Writer) error {
	sc, err := open(ctx, c, dir)
	if err != nil {
		return err
	}
	root, err := resolveDir(sc, dir)
	if err != nil {
		return err
	}
	raw, err := openRawSFTP(ctx, c)
	if err != nil {
		return err
	}
	defer raw.Close()
	tw := tar.NewWriter(w)
	if err := walkTar(ctx, sc, raw, tw, root); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish tar of %s: %w", dir, err)
	}
	return nil
}

// tarFrame is one directory being walked.
type tarFrame struct {
	full, rel string
	handle    string
	batch     []dirEntry
}

// walkTar writes every entry under root, depth first.
func walkTar(ctx context.Context, sc *sftp.Client, raw *rawSFTP, tw *tar.Writer, root string) error {
	h, err := raw.opendir(root)
	if err != nil {
		return fileError("walk", root, err)
	}
	stack := []*tarFrame{{full: root, handle: h}}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := stack[len(stack)-1]
		if len(f.batch) == 0 {
			if f.batch, err = raw.readdir(f.handle); errors.Is(err, io.EOF) {
				raw.closeHandle(f.handle)
				stack = stack[:len(stack)-1]
			} else if err != nil {
				return fileError("walk", f.full, err)
			}
			continue
		}
		e := f.batch[0]
		f.batch = f.batch[1:]
		full, rel := path.Join(f.full, e.name), path.Join(f.rel, e.name)
		if err := addEntry(sc, tw, full, rel, e); err != nil {
			return err
		}
		if e.mode.IsDir() {
			h, err := raw.opendir(full)
			if codepod.ErrorCode(fileError("walk", full, err)) == codepod.ENOTFOUND {
				continue // removed while we walked
			} else if err != nil {
				return fileError("walk", full, err)
			}
			stack = append(stack, &tarFrame{full: full, rel: rel, handle: h})
		}
	}
	return nil
}

// resolveDir follows dir while it is a symlink and checks it is a
// directory; it returns the path to walk.
func resolveDir(sc *sftp.Client, dir string) (string, error) {
	p := dir
	for range 16 {
		fi, err := sc.Lstat(p)
		if err != nil {
			return "", fileError("stat", dir, err)
		}
		if fi.IsDir() {
			return path.Clean(p), nil
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return "", codepod.Errorf(codepod.EINVALID, "%s is not a directory", dir)
		}
		target, err := sc.ReadLink(p)
		if err != nil {
			return "", fileError("readlink", dir, err)
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = target
	}
	return "", codepod.Errorf(codepod.EINVALID, "%s: too many levels of symbolic links", dir)
}

// addEntry writes one file, directory or symlink to tw.
func addEntry(sc *sftp.Client, tw *tar.Writer, full, rel string, e dirEntry) error {
	hdr := &tar.Header{Name: rel, Mode: int64(unixMode(e.mode)), ModTime: e.modTime, Format: tar.FormatPAX,
		Uid: int(e.uid), Gid: int(e.gid)}
	switch m := e.mode; {
	case m.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case m&os.ModeSymlink != 0:
		target, err := sc.ReadLink(full)
		if err != nil {
			return fileError("readlink", full, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case m.IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, e.size
	default:
		return nil
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write tar header for %s: %w", full, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	return copyFileTo(sc, tw, full, hdr.Size)
}

// copyFileTo copies exactly size bytes of the file at p into tw, reading
// with many requests in flight (File.WriteTo). A file that grew since its
// stat is cut at size; one that shrank fails the archive.
func copyFileTo(sc *sftp.Client, tw *tar.Writer, p string, size int64) error {
	f, err := sc.Open(p)
	if err != nil {
		return fileError("open", p, err)
	}
	defer f.Close()
	w := &limitWriter{w: tw, n: size}
	if _, err := f.WriteTo(w); err != nil && !errors.Is(err, errLimit) {
		return fileError("read", p, err)
	}
	if w.n > 0 {
		return codepod.Errorf(codepod.ECONFLICT, "file %s shrank while it was archived; try again", p)
	}
	return nil
}

var errLimit = errors.New("limit reached")

// limitWriter passes on the first n bytes, then fails with errLimit.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		k, err := l.w.Write(p[:l.n])
		l.n -= int64(k)
		if err == nil {
			err = errLimit
		}
		return k, err
	}
	k, err := l.w.Write(p)
	l.n -= int64(k)
	return k, err
}

// unixMode is the permission and special bits of m as a Unix mode.
func unixMode(m os.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

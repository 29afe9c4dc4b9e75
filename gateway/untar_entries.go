package gateway

import (
	"archive/tar"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
)

// writeFile streams a regular entry into target, with its mode and mtime.
func (x *extractor) writeFile(name, target string, hdr *tar.Header, body io.Reader) error {
	if err := x.parent(name); err != nil {
		return err
	}
	if err := x.replaceLink(name, target); err != nil {
		return err
	}
	f, err := x.sc.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fileError("create", target, err)
	}
	if _, err := f.ReadFromWithConcurrency(body, 0); err != nil {
		f.Close()
		return fileError("write", target, err)
	}
	if err := f.Chmod(hdr.FileInfo().Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)); err != nil {
		f.Close()
		return fileError("chmod", target, err)
	}
	if err := f.Close(); err != nil {
		return fileError("close", target, err)
	}
	return fileError("set the modification time of", target, x.sc.Chtimes(target, hdr.ModTime, hdr.ModTime))
}

// symlink writes a symlink entry as a symlink, replacing what is there.
func (x *extractor) symlink(name, target, linkname string) error {
	if linkname == "" || len(linkname) > 4096 || strings.ContainsRune(linkname, 0) {
		return codepod.Errorf(codepod.EINVALID, "archive symlink %q has no valid target", name)
	}
	if err := x.parent(name); err != nil {
		return err
	}
	if _, err := x.sc.Lstat(target); err == nil {
		if err := x.removeExisting(target); err != nil {
			return err
		}
	}
	if err := x.makeSymlink(linkname, target); err != nil {
		return err
	}
	x.links[name] = true
	delete(x.dirs, name)
	return nil
}

// makeSymlink creates target pointing at linkname. The agent's SFTP server
// (pkg/sftp with a working directory) turns a relative link target into an
// absolute one, so relative targets are made by running ln in the sandbox.
func (x *extractor) makeSymlink(linkname, target string) error {
	if path.IsAbs(linkname) {
		return fileError("create symlink", target, x.sc.Symlink(linkname, target))
	}
	res, err := Exec(x.ctx, x.c, ExecRequest{Command: []string{"ln", "-s", "--", linkname, target}, Timeout: time.Minute})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return codepod.Errorf(codepod.EUNAVAILABLE, "could not create the symlink %s -> %s in the sandbox (ln exited %d: %s)",
			target, linkname, res.ExitCode, strings.TrimSpace(string(res.Stderr.Data)))
	}
	return nil
}

// hardlink links target to another entry of the archive.
func (x *extractor) hardlink(name, target, linkname string) error {
	src, err := x.safeName(linkname)
	if err != nil || src == "." {
		return codepod.Errorf(codepod.EINVALID, "archive hard link %q points at %q outside the extracted tree; refusing it", name, linkname)
	}
	if x.links[src] {
		return codepod.Errorf(codepod.EINVALID, "archive hard link %q points at the symlink %q; refusing it", name, linkname)
	}
	if err := x.parent(name); err != nil {
		return err
	}
	if err := x.replaceLink(name, target); err != nil {
		return err
	}
	if _, err := x.sc.Lstat(target); err == nil {
		if err := x.removeExisting(target); err != nil {
			return err
		}
	}
	return fileError("create hard link", target, x.sc.Link(path.Join(x.dir, src), target))
}

// removeExisting removes a file or an empty directory at target.
func (x *extractor) removeExisting(target string) error {
	return fileError("replace", target, x.sc.Remove(target))
}

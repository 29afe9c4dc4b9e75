package gateway

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// UntarDir extracts the tar stream r into dir, creating dir if needed, and
// returns how many entries (files, directories, links) it wrote.
//
// Entries that would land outside dir are refused with EINVALID: absolute
// names, names with "..", hard links to such names, and names below a
// symlink the same archive created. Symlinks are written as symlinks,
// whatever they point at, and never followed (a relative target is made
// with the sandbox's ln, see makeSymlink). An existing file is
// replaced. Extraction stops at the first bad entry; what came before it
// stays. Devices, FIFOs and other special entries are skipped.
func UntarDir(ctx context.Context, c *ssh.Client, dir string, r io.Reader) (files int, err error) {
	return UntarDirAs(ctx, c, dir, r, "")
}

// UntarDirAs is UntarDir with the files and directories it writes owned
// by owner (a name or uid of the sandbox's /etc/passwd; "" keeps root's).
// Symlinks stay root's, and dir itself keeps its owner.
func UntarDirAs(ctx context.Context, c *ssh.Client, dir string, r io.Reader, owner string) (files int, err error) {
	sc, err := open(ctx, c, dir)
	if err != nil {
		return 0, err
	}
	uid, gid := -1, -1
	if owner != "" {
		if uid, gid, err = lookupOwner(sc, owner); err != nil {
			return 0, err
		}
	}
	if err := sc.MkdirAll(dir); err != nil {
		return 0, fileError("create directory", dir, err)
	}
	x := &extractor{ctx: ctx, c: c, sc: sc, dir: path.Clean(dir), dirs: map[string]bool{".": true}, links: map[string]bool{}, uid: uid, gid: gid}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return files, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, codepod.Errorf(codepod.EINVALID, "the request body is not a valid tar stream after %d entries: %v", files, err)
		}
		wrote, err := x.extract(hdr, tr)
		if err != nil {
			return files, err
		}
		if wrote {
			files++
		}
	}
}

// extractor writes entries below dir. dirs are directories known to
// exist; links are symlinks this archive created (relative names).
type extractor struct {
	ctx   context.Context
	c     *ssh.Client // for ln (see makeSymlink)
	sc    *sftp.Client
	dir   string
	dirs  map[string]bool
	links map[string]bool
	// uid, gid own the files and directories written (-1: root's).
	uid, gid int
}

// lookupOwner finds a user name (or a numeric uid) in the sandbox's
// /etc/passwd.
func lookupOwner(sc *sftp.Client, owner string) (uid, gid int, err error) {
	f, err := sc.Open("/etc/passwd")
	if err != nil {
		return 0, 0, fileError("read", "/etc/passwd", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return 0, 0, fileError("read", "/etc/passwd", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) < 4 || (fields[0] != owner && fields[2] != owner) {
			continue
		}
		u, err1 := strconv.Atoi(fields[2])
		g, err2 := strconv.Atoi(fields[3])
		if err1 == nil && err2 == nil {
			return u, g, nil
		}
	}
	if n, err := strconv.Atoi(owner); err == nil && n >= 0 {
		return n, n, nil
	}
	return 0, 0, codepod.Errorf(codepod.EINVALID, "owner %q is not a user of the sandbox (not in its /etc/passwd)", owner)
}

// extract writes one entry; wrote is false for skipped kinds.
func (x *extractor) extract(hdr *tar.Header, body io.Reader) (wrote bool, err error) {
	name, err := x.safeName(hdr.Name)
	if err != nil || name == "." {
		return false, err
	}
	target := path.Join(x.dir, name)
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = x.mkdir(name, hdr.FileInfo().Mode())
	case tar.TypeReg, tar.TypeRegA:
		err = x.writeFile(name, target, hdr, body)
	case tar.TypeSymlink:
		err = x.symlink(name, target, hdr.Linkname)
	case tar.TypeLink:
		err = x.hardlink(name, target, hdr.Linkname)
	default:
		return false, nil
	}
	if err == nil && x.uid >= 0 && (hdr.Typeflag == tar.TypeDir || hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) {
		if err = x.sc.Chown(target, x.uid, x.gid); err != nil {
			err = fileError("change the owner of", target, err)
		}
	}
	return err == nil, err
}

// safeName cleans an entry name and refuses one that escapes dir or
// passes through a symlink the archive made.
func (x *extractor) safeName(raw string) (string, error) {
	name := path.Clean(strings.TrimPrefix(raw, "./"))
	if path.IsAbs(raw) || name == ".." || strings.HasPrefix(name, "../") {
		return "", codepod.Errorf(codepod.EINVALID, "archive entry %q would be written outside %s; refusing it", raw, x.dir)
	}
	for p := path.Dir(name); p != "."; p = path.Dir(p) {
		if x.links[p] {
			return "", codepod.Errorf(codepod.EINVALID, "archive entry %q is below the symlink %q the archive created; refusing it", raw, p)
		}
	}
	return name, nil
}

// mkdir creates directory name (and parents) with mode's permissions.
func (x *extractor) mkdir(name string, mode os.FileMode) error {
	target := path.Join(x.dir, name)
	if err := x.replaceLink(name, target); err != nil {
		return err
	}
	if err := x.sc.MkdirAll(target); err != nil {
		return fileError("create directory", target, err)
	}
	x.dirs[name] = true
	if mode.Perm() != 0 {
		return fileError("chmod", target, x.sc.Chmod(target, mode&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky)))
	}
	return nil
}

// parent makes sure name's parent directory exists.
func (x *extractor) parent(name string) error {
	p := path.Dir(name)
	if x.dirs[p] {
		return nil
	}
	if err := x.sc.MkdirAll(path.Join(x.dir, p)); err != nil {
		return fileError("create directory", path.Join(x.dir, p), err)
	}
	x.dirs[p] = true
	return nil
}

// replaceLink removes a symlink this archive made at name, so that the
// entry replaces it instead of writing through it.
func (x *extractor) replaceLink(name, target string) error {
	if !x.links[name] {
		return nil
	}
	delete(x.links, name)
	return fileError("replace symlink", target, x.sc.Remove(target))
}

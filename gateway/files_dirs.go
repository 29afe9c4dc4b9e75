package gateway

import (
	"context"
	"path"

	"github.com/codepod-dev/codepod"
	"golang.org/x/crypto/ssh"
)

// Mkdir creates directory p; with parents, also its missing parents, and
// an existing directory is fine. Without parents, an existing path is
// ECONFLICT and a missing parent ENOTFOUND.
func Mkdir(ctx context.Context, c *ssh.Client, p string, parents bool) error {
	sc, err := open(ctx, c, p)
	if err != nil {
		return err
	}
	if parents {
		if err := sc.MkdirAll(p); err != nil {
			return fileError("mkdir -p", p, err)
		}
		return nil
	}
	if err := sc.Mkdir(p); err != nil {
		if _, serr := sc.Lstat(p); serr == nil {
			return codepod.Errorf(codepod.ECONFLICT, "path %s already exists", p)
		}
		if _, serr := sc.Stat(path.Dir(p)); serr != nil {
			return codepod.Errorf(codepod.ENOTFOUND, "parent directory of %s not found in sandbox; create it first or ask for parents", p)
		}
		return fileError("mkdir", p, err)
	}
	return nil
}

// Remove deletes p (a symlink itself, not its target). A directory must
// be empty unless recursive.
func Remove(ctx context.Context, c *ssh.Client, p string, recursive bool) error {
	sc, err := open(ctx, c, p)
	if err != nil {
		return err
	}
	if path.Clean(p) == "/" {
		return codepod.Errorf(codepod.EINVALID, "refusing to delete /")
	}
	fi, err := sc.Lstat(p)
	if err != nil {
		return fileError("stat", p, err)
	}
	switch {
	case !fi.IsDir():
		err = sc.Remove(p)
	case recursive:
		err = sc.RemoveAll(p)
	default:
		err = sc.RemoveDirectory(p)
	}
	return fileError("delete", p, err)
}

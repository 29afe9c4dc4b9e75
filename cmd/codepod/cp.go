package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
)

// splitRemote parses "ID|NAME:/path"; ok is false for a local path.
func splitRemote(arg string) (ref, p string, ok bool) {
	i := strings.IndexByte(arg, ':')
	if i <= 0 || strings.ContainsRune(arg[:i], '/') {
		return "", arg, false
	}
	return arg[:i], arg[i+1:], true
}

func newCpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cp SRC DST",
		Short: "Copy files and directories between this machine and a sandbox",
		Long: `Copy files or directories to or from a sandbox, like docker cp and kubectl cp.
One side is ID|NAME:/path. A directory is copied with everything in it; file
modes are kept.`,
		Example: `  codepod sandbox cp ./src demo:/work/src
  codepod sandbox cp demo:/work/out.csv .`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcRef, src, srcRemote := splitRemote(args[0])
			dstRef, dst, dstRemote := splitRemote(args[1])
			if srcRemote == dstRemote {
				return errors.New("exactly one of SRC and DST must be ID|NAME:/path")
			}
			ref := srcRef
			if dstRemote {
				ref = dstRef
			}
			sc, err := dialSandbox(cmd, ref)
			if err != nil {
				return err
			}
			defer sc.Close()
			fc, err := sftp.NewClient(sc, sftp.UseConcurrentWrites(true))
			if err != nil {
				return fmt.Errorf("sftp: %w", err)
			}
			defer fc.Close()
			if dstRemote {
				return upload(remoteFS{fc, sc}, src, remoteTarget(fc, dst, filepath.Base(src)))
			}
			return download(fc, src, localTarget(dst, path.Base(src)))
		},
	}
}

// remoteTarget puts SRC inside DST when DST is an existing directory.
func remoteTarget(fc *sftp.Client, dst, base string) string {
	if fi, err := fc.Stat(dst); err == nil && fi.IsDir() {
		return path.Join(dst, base)
	}
	return dst
}

func localTarget(dst, base string) string {
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		return filepath.Join(dst, base)
	}
	return dst
}

// remoteFS is the sandbox's file system: SFTP, plus a session for what
// SFTP does wrong.
type remoteFS struct {
	fc *sftp.Client
	sc *ssh.Client
}

// symlink makes link point to target. The agent's SFTP server resolves a
// relative target against the home directory (pkg/sftp's working
// directory) and would store "/root/a/b" for "a/b", so a relative target
// is made with `ln -s` in a session instead.
func (r remoteFS) symlink(target, link string) error {
	r.fc.Remove(link)
	if path.IsAbs(target) {
		return r.fc.Symlink(target, link)
	}
	s, err := r.sc.NewSession()
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	defer s.Close()
	if out, err := s.CombinedOutput("ln -sfn -- " + shellJoin([]string{target, link})); err != nil {
		return fmt.Errorf("make symlink %s -> %s in the sandbox: %v %s", link, target, err, out)
	}
	return nil
}

func upload(r remoteFS, src, dst string) error {
	fc := r.fc
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := path.Join(dst, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := fc.MkdirAll(target); err != nil {
				return fmt.Errorf("mkdir %s: %w", target, err)
			}
			return fc.Chmod(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			return uploadFile(fc, p, target, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return r.symlink(link, target)
		}
		return nil // sockets, devices: skipped like tar does with a warning
	})
}

func uploadFile(fc *sftp.Client, src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fc.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("create %s in the sandbox: %w", dst, err)
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return fc.Chmod(dst, mode)
}

func download(fc *sftp.Client, src, dst string) error {
	if _, err := fc.Lstat(src); err != nil {
		return fmt.Errorf("%s in the sandbox: %w", src, err)
	}
	w := fc.Walk(src)
	for w.Step() {
		if err := w.Err(); err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(w.Path(), src), "/")
		target := filepath.Join(dst, filepath.FromSlash(rel))
		info := w.Stat()
		switch {
		case info.IsDir():
			if err := os.MkdirAll(target, info.Mode().Perm()|0o700); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := downloadFile(fc, w.Path(), target, info.Mode().Perm()); err != nil {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := fc.ReadLink(w.Path())
			if err != nil {
				return err
			}
			os.Remove(target)
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		}
	}
	return nil
}

func downloadFile(fc *sftp.Client, src, dst string, mode fs.FileMode) error {
	in, err := fc.Open(src)
	if err != nil {
		return fmt.Errorf("open %s in the sandbox: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("read %s: %w", src, err)
	}
	return out.Close()
}

package codepod

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/codepod-dev/codepod/client"
)

// Upload copies the local directory localDir, with everything under it,
// into remoteDir in the sandbox (created if missing), as one tar stream. It
// returns the number of files the sandbox received.
func (f *Files) Upload(ctx context.Context, localDir, remoteDir string) (int, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, localDir)) }()
	defer pr.Close()
	params := &client.UploadArchiveParams{Path: remoteDir}
	v, err := decode[client.ArchiveExtracted](f.s.c.check(f.s.c.api.UploadArchiveWithBody(ctx, f.s.id, params, "application/x-tar", pr)))
	if err != nil {
		return 0, err
	}
	return int(v.Files), nil
}

// writeTar writes dir's contents (names relative to dir) as a tar stream.
func writeTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		return addTarEntry(tw, dir, path, d)
	})
	if err != nil {
		return fmt.Errorf("codepod: pack %s: %w", dir, err)
	}
	return tw.Close()
}

func addTarEntry(tw *tar.Writer, dir, path string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	} else if !info.Mode().IsRegular() && !info.IsDir() {
		return nil // sockets, devices, pipes: not copied
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(dir, path)
	hdr.Name = filepath.ToSlash(rel)
	hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "", "", 0, 0
	if info.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	_, err = io.Copy(tw, file)
	return err
}

// Download copies the sandbox's directory remoteDir, with everything under
// it, into the local directory localDir (created if missing). Entries that
// would land outside localDir are refused.
func (f *Files) Download(ctx context.Context, remoteDir, localDir string) error {
	resp, err := f.s.c.check(f.s.c.api.DownloadArchive(ctx, f.s.id, &client.DownloadArchiveParams{Path: remoteDir}))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(localDir, 0o755); err != nil {
		return fmt.Errorf("codepod: download %s: %w", remoteDir, err)
	}
	if err := extractTar(resp.Body, localDir); err != nil {
		return fmt.Errorf("codepod: download %s: %w", remoteDir, err)
	}
	return nil
}

// extractTar unpacks r into dir through an os.Root, so that neither a
// name nor a symlink can make an entry land outside dir.
func extractTar(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			continue
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("entry %q would land outside %s", hdr.Name, dir)
		}
		if err := extractEntry(root, tr, hdr, name); err != nil {
			return fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
	}
}

func extractEntry(root *os.Root, tr *tar.Reader, hdr *tar.Header, name string) error {
	mode := fs.FileMode(hdr.Mode).Perm()
	if hdr.Typeflag != tar.TypeDir {
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(name, mode|0o700)
	case tar.TypeSymlink:
		root.Remove(name)
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeReg:
		file, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(file, tr)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil // other kinds are skipped
}

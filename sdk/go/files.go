package codepod

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/codepod-dev/codepod/client"
)

// Files reads and writes the files of a sandbox. Paths are resolved inside
// the sandbox; a relative path is relative to the user's home.
type Files struct{ s *Sandbox }

// Files returns the sandbox's files.
func (s *Sandbox) Files() *Files { return &Files{s: s} }

// FileInfo describes one entry of a directory listing.
type FileInfo struct {
	Name       string
	Path       string // absolute, in the sandbox
	Size       int64
	Mode       fs.FileMode // permission bits and type
	ModeString string      // as ls -l shows it, e.g. "-rw-r--r--"
	ModTime    time.Time
	Type       string // "file", "dir", "symlink" or "other"
}

// IsDir reports whether the entry is a directory.
func (fi FileInfo) IsDir() bool { return fi.Type == "dir" }

func newFileInfo(e client.FileEntry) FileInfo {
	fi := FileInfo{Name: e.Name, Path: e.Path, Size: e.Size, ModeString: e.ModeString, ModTime: e.Mtime, Type: string(e.Type)}
	fi.Mode = fs.FileMode(e.Mode).Perm()
	switch fi.Type {
	case "dir":
		fi.Mode |= fs.ModeDir
	case "symlink":
		fi.Mode |= fs.ModeSymlink
	case "other":
		fi.Mode |= fs.ModeIrregular
	}
	return fi
}

// Open streams the content of the file at path. The caller closes it.
func (f *Files) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	resp, err := f.s.c.check(f.s.c.api.DownloadFile(ctx, f.s.id, &client.DownloadFileParams{Path: path}))
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Read returns the content of the file at path, byte for byte.
func (f *Files) Read(ctx context.Context, path string) ([]byte, error) {
	r, err := f.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Write makes the file at path hold data (mode 0644 for a new file),
// creating its parent directories.
func (f *Files) Write(ctx context.Context, path string, data []byte) error {
	_, err := f.WriteFrom(ctx, path, bytes.NewReader(data), 0)
	return err
}

// WriteFrom streams r into the file at path, creating its parent
// directories, and returns the size written. A non-zero mode sets the
// file's permission bits (else a new file gets 0644, an existing one keeps
// its own).
func (f *Files) WriteFrom(ctx context.Context, path string, r io.Reader, mode fs.FileMode) (int64, error) {
	params := &client.UploadFileParams{Path: path}
	if mode != 0 {
		params.Mode = ptrIf("0" + strconv.FormatUint(uint64(mode.Perm()), 8))
	}
	v, err := decode[client.FileWritten](f.s.c.check(f.s.c.api.UploadFileWithBody(ctx, f.s.id, params, "application/octet-stream", r)))
	if err != nil {
		return 0, err
	}
	return v.Size, nil
}

// List returns the entries of the directory at path, sorted by name,
// following the server's pages (of listPageSize entries) to the end.
func (f *Files) List(ctx context.Context, path string) ([]FileInfo, error) {
	var out []FileInfo
	limit := int64(listPageSize)
	params := &client.ListFilesParams{Path: path, Limit: &limit}
	for {
		v, err := decode[client.FileList](f.s.c.check(f.s.c.api.ListFiles(ctx, f.s.id, params)))
		if err != nil {
			return nil, err
		}
		for _, e := range v.Entries {
			out = append(out, newFileInfo(e))
		}
		if v.NextCursor == "" {
			return out, nil
		}
		params.Cursor = &v.NextCursor
	}
}

// listPageSize is the largest page the server gives: each page reads the
// whole directory in the sandbox, so fewer pages list a huge one faster.
const listPageSize = 10000

// Mkdir makes the directory at path and its missing parents; an existing
// directory is fine.
func (f *Files) Mkdir(ctx context.Context, path string) error {
	parents := true
	return drain(f.s.c.check(f.s.c.api.MakeDirectory(ctx, f.s.id, client.MkdirRequest{Path: path, Parents: &parents})))
}

// Remove removes the file or empty directory at path.
func (f *Files) Remove(ctx context.Context, path string) error {
	return drain(f.s.c.check(f.s.c.api.DeleteFile(ctx, f.s.id, &client.DeleteFileParams{Path: path})))
}

// RemoveAll removes path and everything under it.
func (f *Files) RemoveAll(ctx context.Context, path string) error {
	recursive := true
	return drain(f.s.c.check(f.s.c.api.DeleteFile(ctx, f.s.id, &client.DeleteFileParams{Path: path, Recursive: &recursive})))
}

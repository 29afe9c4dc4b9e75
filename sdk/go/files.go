package codepod

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/url"
	"strconv"
	"time"
)

// Files reads and writes the files of a sandbox. Paths are resolved inside
// the sandbox; a relative path is relative to the user's home.
type Files struct{ s *Sandbox }

// Files returns the sandbox's files.
func (s *Sandbox) Files() *Files { return &Files{s: s} }

// FileInfo describes one entry of a directory listing.
type FileInfo struct {
	Name       string      `json:"name"`
	Path       string      `json:"path"`
	Size       int64       `json:"size"`
	Mode       fs.FileMode `json:"-"` // permission bits and type
	ModeString string      `json:"mode_string"`
	ModTime    time.Time   `json:"mtime"`
	Type       string      `json:"type"` // "file", "dir", "symlink" or "other"
	RawMode    uint32      `json:"mode"` // permission bits as the server sent them
}

// IsDir reports whether the entry is a directory.
func (fi FileInfo) IsDir() bool { return fi.Type == "dir" }

func pathQuery(path string, extra ...string) url.Values {
	q := url.Values{"path": {path}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// Open streams the content of the file at path. The caller closes it.
func (f *Files) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	resp, err := f.s.c.request(ctx, "GET", f.s.sandboxPath("/files"), pathQuery(path), nil, "")
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

// Write makes the file at path hold data (mode 0644), creating its parent
// directories.
func (f *Files) Write(ctx context.Context, path string, data []byte) error {
	_, err := f.WriteFrom(ctx, path, bytes.NewReader(data), 0o644)
	return err
}

// WriteFrom streams r into the file at path with the given permission
// bits, creating its parent directories, and returns the size written.
func (f *Files) WriteFrom(ctx context.Context, path string, r io.Reader, mode fs.FileMode) (int64, error) {
	q := pathQuery(path, "mode", "0"+strconv.FormatUint(uint64(mode.Perm()), 8))
	v, err := decode[struct {
		Size int64 `json:"size"`
	}](f.s.c.request(ctx, "PUT", f.s.sandboxPath("/files"), q, r, "application/octet-stream"))
	if err != nil {
		return 0, err
	}
	return v.Size, nil
}

// List returns the entries of the directory at path.
func (f *Files) List(ctx context.Context, path string) ([]FileInfo, error) {
	v, err := decode[struct {
		Entries []FileInfo `json:"entries"`
	}](f.s.c.request(ctx, "GET", f.s.sandboxPath("/files/list"), pathQuery(path), nil, ""))
	if err != nil {
		return nil, err
	}
	for i := range v.Entries {
		v.Entries[i].Mode = fileMode(v.Entries[i])
	}
	return v.Entries, nil
}

func fileMode(fi FileInfo) fs.FileMode {
	m := fs.FileMode(fi.RawMode).Perm()
	switch fi.Type {
	case "dir":
		m |= fs.ModeDir
	case "symlink":
		m |= fs.ModeSymlink
	case "other":
		m |= fs.ModeIrregular
	}
	return m
}

// Mkdir makes the directory at path and its missing parents; an existing
// directory is fine.
func (f *Files) Mkdir(ctx context.Context, path string) error {
	body := map[string]any{"path": path, "parents": true}
	return drain(f.s.c.requestJSON(ctx, "POST", f.s.sandboxPath("/files/mkdir"), body))
}

// Remove removes the file or empty directory at path.
func (f *Files) Remove(ctx context.Context, path string) error {
	return drain(f.s.c.request(ctx, "DELETE", f.s.sandboxPath("/files"), pathQuery(path), nil, ""))
}

// RemoveAll removes path and everything under it.
func (f *Files) RemoveAll(ctx context.Context, path string) error {
	q := pathQuery(path, "recursive", "true")
	return drain(f.s.c.request(ctx, "DELETE", f.s.sandboxPath("/files"), q, nil, ""))
}

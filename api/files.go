package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// fileInput names a path in a sandbox. (Huma documents only exported
// embedded structs, so inputs spell their fields out.)
type fileInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Path string `query:"path" required:"true" minLength:"1" maxLength:"4096" doc:"A path in the sandbox; relative paths start in the user's home."`
}

// downloadInput names a file and where to start reading it.
type downloadInput struct {
	ID     string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Path   string `query:"path" required:"true" minLength:"1" maxLength:"4096" doc:"A path in the sandbox; relative paths start in the user's home."`
	Offset int64  `query:"offset" minimum:"0" maximum:"1099511627776" doc:"Skip this many bytes: the answer is the file from there to its end (follow a growing log by passing the bytes read so far). An offset past the end of the file is a 416: the file shrank or was started over."`
}

// uploadInput streams its body: Huma does not read it (there is no Body
// field); Resolve hands the request body over as it arrives.
type uploadInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Path string `query:"path" required:"true" minLength:"1" maxLength:"4096" doc:"A path in the sandbox; relative paths start in the user's home."`
	Mode string `query:"mode" pattern:"^0?[0-7]{3,4}$" doc:"Permission bits in octal, e.g. 0644 or 755 (default: 0644 for a new file, unchanged for an existing one)."`
	body io.Reader
}

// Resolve implements huma.Resolver: it keeps the raw, unbuffered body.
func (in *uploadInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	return nil
}

// FileWritten answers an upload.
type FileWritten struct {
	Path string `json:"path"`
	Size int64  `json:"size" doc:"Bytes written."`
}

type fileWrittenOutput struct {
	Body FileWritten
}

type deleteFileInput struct {
	ID        string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Path      string `query:"path" required:"true" minLength:"1" maxLength:"4096" doc:"A path in the sandbox; relative paths start in the user's home."`
	Recursive bool   `query:"recursive" doc:"Delete a directory and everything in it."`
}

// FileEntry is one entry of a directory listing (symlinks not followed).
type FileEntry struct {
	Name       string    `json:"name"`
	Path       string    `json:"path" doc:"Absolute path in the sandbox."`
	Size       int64     `json:"size"`
	Mode       int       `json:"mode" doc:"Permission bits (e.g. 420 = 0644)."`
	ModeString string    `json:"mode_string" doc:"As ls -l shows it, e.g. -rw-r--r--."`
	MTime      time.Time `json:"mtime" doc:"Last modification (RFC 3339)."`
	Type       string    `json:"type" enum:"file,dir,symlink,other"`
}

// FileList is one page of a directory listing.
type FileList struct {
	Path       string      `json:"path" doc:"The path as asked for."`
	Entries    []FileEntry `json:"entries" nullable:"false" doc:"Sorted by name; at most limit of them."`
	NextCursor string      `json:"next_cursor" doc:"Pass as cursor to get the next page; empty on the last page."`
}

type listFilesInput struct {
	ID     string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Path   string `query:"path" required:"true" minLength:"1" maxLength:"4096" doc:"A path in the sandbox; relative paths start in the user's home."`
	Limit  int    `query:"limit" minimum:"1" maximum:"10000" default:"1000" doc:"Most entries in this page (default 1000, at most 10000)."`
	Cursor string `query:"cursor" maxLength:"8192" doc:"next_cursor of the previous page; empty for the first page."`
}

type fileListOutput struct {
	Body FileList
}

// MkdirRequest creates a directory.
type MkdirRequest struct {
	Path    string `json:"path" minLength:"1" maxLength:"4096" doc:"The directory to create."`
	Parents bool   `json:"parents,omitempty" doc:"Also create missing parents; an existing directory is then fine."`
}

// Directory answers mkdir.
type Directory struct {
	Path string `json:"path"`
}

type mkdirInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body MkdirRequest
}

type mkdirOutput struct {
	Body Directory
}

// binarySchema documents a body of raw bytes: OpenAPI 3.0's string with
// format binary. (Set as an extension: Huma would add 3.1's
// contentMediaType for Format "binary", which 3.0 tools reject.)
var binarySchema = &huma.Schema{Type: "string", Extensions: map[string]any{"format": "binary"}}

func registerFiles(api huma.API, s *Server) {
	errs := []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	op := s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/files", "download-file", "files", "Download a file", append(errs, http.StatusRequestedRangeNotSatisfiable)...)
	op.Responses = map[string]*huma.Response{"200": {Description: "The file's bytes, streamed.",
		Content: map[string]*huma.MediaType{"application/octet-stream": {Schema: binarySchema}}}}
	register(api, s, describe(op, "Streams the file's content, from offset when given. A directory is a 400."), s.downloadFile)

	op = s.operation(userOnly, http.MethodPut, "/sandboxes/{id}/files", "upload-file", "files", "Upload a file", errs...)
	op.RequestBody = &huma.RequestBody{Required: true, Description: "The file's new content, raw and of any size (streamed, not buffered; no JSON body limit).",
		Content: map[string]*huma.MediaType{"application/octet-stream": {Schema: binarySchema}}}
	register(api, s, describe(op, "Writes the request body to the file, creating it and its parent directories, replacing its content."), s.uploadFile)

	op = s.operation(userOnly, http.MethodDelete, "/sandboxes/{id}/files", "delete-file", "files", "Delete a file or directory", errs...)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Deletes a file, a symlink (not its target) or an empty directory; with recursive=true also a directory and its contents."), s.deleteFile)

	op = s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/files/list", "list-files", "files", "List a directory", errs...)
	register(api, s, describe(op, "Lists a directory one page at a time, sorted by name: follow next_cursor until it is empty. "+
		"Every page reads the whole directory in the sandbox and keeps only its page, so the server's memory is bounded by limit; "+
		"a huge directory is quicker to list with a larger limit."), s.listFiles)

	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/files/mkdir", "make-directory", "files", "Create a directory", errs...)
	op.DefaultStatus = http.StatusCreated
	register(api, s, op, s.makeDirectory)

	registerArchives(api, s, errs)
}

// fileError maps a files error: a bad path is 400 here (not 422, which is
// for request bodies that fail validation).
func fileError(err error) error {
	if codepod.ErrorCode(err) == codepod.EINVALID {
		return huma.NewError(http.StatusBadRequest, codepod.ErrorMessage(err))
	}
	return err
}

func (s *Server) downloadFile(ctx context.Context, in *downloadInput) (*huma.StreamResponse, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	var rc io.ReadCloser
	var size int64
	var known bool
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		var fi os.FileInfo
		if rc, fi, err = gateway.ReadFile(ctx, c, in.Path); err != nil {
			return err
		}
		size, known = gateway.KnownSize(ctx, c, in.Path, fi)
		return nil
	})
	if err != nil {
		return nil, fileError(err)
	}
	if in.Offset > 0 {
		if known && in.Offset > size {
			rc.Close()
			return nil, huma.NewError(http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf(
				"offset %d is past the end of %s (%d bytes): the file shrank or was started over; read it again from offset 0", in.Offset, in.Path, size))
		}
		sk, ok := rc.(io.Seeker)
		if !ok {
			rc.Close()
			return nil, fmt.Errorf("download %s from offset %d: the file cannot seek", in.Path, in.Offset)
		}
		if _, err := sk.Seek(in.Offset, io.SeekStart); err != nil {
			rc.Close()
			return nil, fileError(err)
		}
		size -= in.Offset
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer rc.Close()
		clearWriteDeadline(ctx)
		hctx.SetHeader("Content-Type", "application/octet-stream")
		if known {
			hctx.SetHeader("Content-Length", strconv.FormatInt(size, 10))
		}
		hctx.SetStatus(http.StatusOK)
		if err := copyDownload(hctx.BodyWriter(), rc, size, known); err != nil {
			logger(ctx).Info("download cut short", "sandbox_id", sb.ID, "err", err)
			panic(http.ErrAbortHandler) // the client must not take a short body for the file
		}
	}}, nil
}

// copyDownload copies the file: with a known size exactly that many bytes
// (a file that grew since its stat is cut there, one that shrank is an
// error), else to its end.
func copyDownload(w io.Writer, r io.Reader, size int64, known bool) error {
	if !known {
		_, err := io.Copy(w, r)
		return err
	}
	lw := &capWriter{w: w, left: size}
	_, err := io.Copy(lw, r) // r's WriteTo reads with many requests in flight
	if errors.Is(err, errFull) {
		err = nil
	}
	if err == nil && lw.left > 0 {
		err = fmt.Errorf("the file shrank by %d of the %d bytes announced", lw.left, size)
	}
	return err
}

var errFull = errors.New("announced size reached")

// capWriter passes on the first left bytes, then fails with errFull.
type capWriter struct {
	w    io.Writer
	left int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	var err error
	if int64(len(p)) > c.left {
		p, err = p[:c.left], errFull
	}
	n, werr := c.w.Write(p)
	c.left -= int64(n)
	if werr != nil {
		return n, werr
	}
	return n, err
}

func (s *Server) uploadFile(ctx context.Context, in *uploadInput) (*fileWrittenOutput, error) {
	clearWriteDeadline(ctx)
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	mode, err := parseMode(in.Mode)
	if err != nil {
		return nil, err
	}
	var n int64
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		n, err = gateway.WriteFile(ctx, c, in.Path, in.body, mode)
		return err
	})
	if err != nil {
		return nil, fileError(err)
	}
	return &fileWrittenOutput{Body: FileWritten{Path: in.Path, Size: n}}, nil
}

// parseMode reads an octal mode; "" is 0 (the default).
func parseMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0, nil
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, huma.NewError(http.StatusBadRequest, "mode "+strconv.Quote(s)+" must be octal permission bits, e.g. 0644")
	}
	mode := os.FileMode(m & 0o777)
	for bit, flag := range map[uint64]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if m&bit != 0 {
			mode |= flag
		}
	}
	return mode, nil
}

func (s *Server) deleteFile(ctx context.Context, in *deleteFileInput) (*struct{}, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error { return gateway.Remove(ctx, c, in.Path, in.Recursive) })
	if err != nil {
		return nil, fileError(err)
	}
	return &struct{}{}, nil
}

func (s *Server) listFiles(ctx context.Context, in *listFilesInput) (*fileListOutput, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	after, err := base64.RawURLEncoding.DecodeString(in.Cursor)
	if err != nil {
		return nil, huma.NewError(http.StatusBadRequest, "cursor is not one this server gave; pass next_cursor from the previous page, or none for the first")
	}
	if in.Limit == 0 {
		in.Limit = gateway.DefaultListLimit
	}
	var entries []gateway.FileEntry
	var more bool
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		entries, more, err = gateway.ListPage(ctx, c, in.Path, string(after), in.Limit)
		return err
	})
	if err != nil {
		return nil, fileError(err)
	}
	out := FileList{Path: in.Path, Entries: make([]FileEntry, 0, len(entries))}
	if more {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(entries[len(entries)-1].Name))
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, FileEntry{Name: e.Name, Path: e.Path, Size: e.Size, Mode: int(e.Mode.Perm()),
			ModeString: e.Mode.String(), MTime: e.ModTime.UTC(), Type: e.Type})
	}
	return &fileListOutput{Body: out}, nil
}

func (s *Server) makeDirectory(ctx context.Context, in *mkdirInput) (*mkdirOutput, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error { return gateway.Mkdir(ctx, c, in.Body.Path, in.Body.Parents) })
	if err != nil {
		return nil, fileError(err)
	}
	return &mkdirOutput{Body: Directory{Path: in.Body.Path}}, nil
}

package api

import (
	"context"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

type uploadArchiveInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Path  string `query:"path" required:"true" minLength:"1" maxLength:"4096" doc:"A path in the sandbox; relative paths start in the user's home."`
	Owner string `query:"owner" maxLength:"64" doc:"A user (name or uid in the sandbox's /etc/passwd) to own the files and directories written; default root. Symlinks stay root's."`
	body  io.Reader
}

// Resolve implements huma.Resolver: it keeps the raw, unbuffered body.
func (in *uploadArchiveInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	return nil
}

// ArchiveExtracted answers an archive upload.
type ArchiveExtracted struct {
	Path  string `json:"path"`
	Files int    `json:"files" doc:"Entries written: files, directories and links."`
}

type archiveOutput struct {
	Body ArchiveExtracted
}

func registerArchives(api huma.API, s *Server, errs []int) {
	tarContent := map[string]*huma.MediaType{"application/x-tar": {Schema: binarySchema}}
	op := s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/files/archive", "download-archive", "files", "Download a directory as tar", errs...)
	op.Responses = map[string]*huma.Response{"200": {Description: "A tar stream of the directory's contents, names relative to it.", Content: tarContent}}
	register(api, s, describe(op, "Streams the directory's contents as a tar archive. Symlinks are archived as links; sockets and devices are left out."),
		s.downloadArchive)

	op = s.operation(userOnly, http.MethodPut, "/sandboxes/{id}/files/archive", "upload-archive", "files", "Upload a tar into a directory", errs...)
	op.RequestBody = &huma.RequestBody{Required: true, Description: "A tar stream, any size (streamed).", Content: tarContent}
	register(api, s, describe(op, "Extracts the tar into the directory, creating it if needed. Entries that would land outside it "+
		"(absolute names, .., or below a symlink the archive made) are refused with a 400; symlinks are written as symlinks."),
		s.uploadArchive)
}

func (s *Server) downloadArchive(ctx context.Context, in *fileInput) (*huma.StreamResponse, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		clearWriteDeadline(ctx)
		w := &lazyWriter{hctx: hctx, contentType: "application/x-tar"}
		err := s.withAgent(ctx, sb, func(c *ssh.Client) error { return gateway.TarDir(ctx, c, in.Path, w) })
		switch {
		case err == nil && !w.started:
			w.start() // an empty directory: an empty tar still has its trailer
		case err != nil && !w.started:
			status, detail := s.problemOf(ctx, fileError(err))
			huma.WriteErr(s.api, hctx, status, detail)
		case err != nil:
			logger(ctx).Info("archive download cut short", "sandbox_id", sb.ID, "err", err)
			panic(http.ErrAbortHandler) // a cut tar must not look complete
		}
	}}, nil
}

// lazyWriter answers 200 only with the first byte, so an error found
// before (a missing directory) can still be a problem document.
type lazyWriter struct {
	hctx        huma.Context
	contentType string
	started     bool
}

func (w *lazyWriter) start() {
	w.started = true
	w.hctx.SetHeader("Content-Type", w.contentType)
	w.hctx.SetStatus(http.StatusOK)
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.start()
	}
	return w.hctx.BodyWriter().Write(p)
}

func (s *Server) uploadArchive(ctx context.Context, in *uploadArchiveInput) (*archiveOutput, error) {
	clearWriteDeadline(ctx)
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	var n int
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		n, err = gateway.UntarDirAs(ctx, c, in.Path, in.body, in.Owner)
		return err
	})
	if err != nil {
		if codepod.ErrorCode(err) == codepod.EINVALID && n > 0 {
			err = codepod.Errorf(codepod.EINVALID, "%s (the %d entries before it were written)", codepod.ErrorMessage(err), n)
		}
		return nil, fileError(err)
	}
	return &archiveOutput{Body: ArchiveExtracted{Path: in.Path, Files: n}}, nil
}

package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// Blobs are tars a client uploads before a create that names them (a
// build context, a workspace): content-addressed by their SHA-256 and kept
// per owner under <DataDir>/blobs/<owner id>/<hex>, so one user cannot read
// or reference another's by guessing a digest. Runners fetch the ones a
// sandbox placed on them names. Unreferenced blobs are removed after
// BlobGrace (CollectBlobs).

// DefaultMaxBlobBytes bounds one blob (Config.MaxBlobBytes).
const DefaultMaxBlobBytes = 1 << 30

// DefaultBlobGrace is how long an unreferenced blob is kept after its last
// upload or use (Config.BlobGrace).
const DefaultBlobGrace = 24 * time.Hour

var ownerDirRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// blobPath is where owner's blob digest lives; "" when blobs are off (no
// data directory) or the names are not safe path elements.
func (s *Server) blobPath(ownerID, digest string) (string, error) {
	if s.cfg.DataDir == "" {
		return "", codepod.Errorf(codepod.EUNAVAILABLE, "this server keeps no uploads (it has no data directory): builds and workspaces need one")
	}
	if !codepod.ValidDigest(digest) {
		return "", codepod.Errorf(codepod.EINVALID, "blob digest %q must be sha256: followed by 64 lowercase hex digits", digest)
	}
	if !ownerDirRE.MatchString(ownerID) {
		return "", fmt.Errorf("owner id %q is not a safe path element", ownerID)
	}
	return filepath.Join(s.cfg.DataDir, "blobs", ownerID, strings.TrimPrefix(digest, "sha256:")), nil
}

// haveBlob reports whether owner has blob digest, marking it used now.
func (s *Server) haveBlob(ownerID, digest string) (bool, int64, error) {
	p, err := s.blobPath(ownerID, digest)
	if err != nil {
		return false, 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	now := s.now()
	os.Chtimes(p, now, now) // used: the grace period starts again
	return true, fi.Size(), nil
}

// putBlob stores r as owner's blob digest, hashing while it streams; a
// body whose hash differs, or over the limit, is refused and not kept.
func (s *Server) putBlob(ownerID, digest string, r io.Reader) (int64, error) {
	p, err := s.blobPath(ownerID, digest)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename: a no-op
	defer tmp.Close()
	h := sha256.New()
	limit := s.cfg.MaxBlobBytes
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, limit+1))
	if err != nil {
		return n, codepod.Errorf(codepod.EINVALID, "upload cut short after %d bytes: %s", n, err)
	}
	if n > limit {
		return n, codepod.Errorf(codepod.ETOOLARGE, "the upload is over this server's limit of %d bytes (--max-upload-bytes); leave big files out with .dockerignore or build elsewhere", limit)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return n, codepod.Errorf(codepod.EINVALID, "the body's digest is %s, not %s as its path says: upload the tar whose SHA-256 you named", got, digest)
	}
	if err := tmp.Sync(); err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return n, err
	}
	return n, nil
}

// CollectBlobs removes every blob not used (uploaded, checked, fetched or
// named by a create) for BlobGrace and not named by a live sandbox of its
// owner. It returns how many it removed.
func (s *Server) CollectBlobs(ctx context.Context) (int, error) {
	if s.cfg.DataDir == "" {
		return 0, nil
	}
	root := filepath.Join(s.cfg.DataDir, "blobs")
	owners, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := s.now().Add(-s.cfg.BlobGrace)
	removed := 0
	for _, o := range owners {
		files, err := os.ReadDir(filepath.Join(root, o.Name()))
		if err != nil {
			continue
		}
		var old []string
		for _, f := range files {
			fi, err := f.Info()
			if err == nil && fi.ModTime().Before(cutoff) {
				old = append(old, f.Name())
			}
		}
		if len(old) == 0 {
			continue
		}
		used, err := s.blobsInUse(ctx, o.Name())
		if err != nil {
			return removed, err
		}
		for _, name := range old {
			if !used["sha256:"+name] && os.Remove(filepath.Join(root, o.Name(), name)) == nil {
				removed++
			}
		}
	}
	return removed, nil
}

// blobsInUse are the digests owner's live sandboxes name.
func (s *Server) blobsInUse(ctx context.Context, ownerID string) (map[string]bool, error) {
	used := map[string]bool{}
	f := codepod.SandboxFilter{OwnerID: ownerID, Page: codepod.Page{Limit: 500}}
	for {
		page, next, err := s.st.ListSandboxes(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, sb := range page {
			for _, d := range blobRefs(&sb.Spec) {
				used[d] = true
			}
		}
		if next == "" {
			return used, nil
		}
		f.Cursor = next
	}
}

// blobRefs are the blob digests spec names.
func blobRefs(spec *codepod.SandboxSpec) []string {
	var out []string
	if spec.Build != nil {
		out = append(out, spec.Build.Context)
	}
	if spec.Workspace != nil {
		out = append(out, spec.Workspace.Archive)
	}
	return out
}

// checkBlobs refuses a create whose spec names a blob its owner has not
// uploaded.
func (s *Server) checkBlobs(ownerID string, spec *codepod.SandboxSpec) error {
	for _, d := range blobRefs(spec) {
		ok, _, err := s.haveBlob(ownerID, d)
		if err != nil {
			return err
		}
		if !ok {
			return codepod.Errorf(codepod.EINVALID, "blob %s is not uploaded: PUT it to /api/v1/blobs/%s first (or run the create again from the CLI, which uploads it)", d, d)
		}
	}
	return nil
}

type blobInput struct {
	Digest string `path:"digest" maxLength:"71" doc:"sha256:<64 hex digits> of the content."`
}

type putBlobInput struct {
	Digest string `path:"digest" maxLength:"71" doc:"sha256:<64 hex digits> of the content."`
	body   io.Reader
}

// Resolve implements huma.Resolver: it keeps the raw, unbuffered body.
func (in *putBlobInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	return nil
}

// Blob describes a stored upload.
type Blob struct {
	Digest string `json:"digest" doc:"sha256:<hex> of the content."`
	Size   int64  `json:"size" doc:"Bytes."`
}

type blobOutput struct {
	Body Blob
}

type headBlobOutput struct {
	Size int64 `header:"CodePod-Blob-Size" doc:"The blob's size in bytes."`
}

type runnerBlobInput struct {
	Digest  string `path:"digest" maxLength:"71" doc:"sha256:<64 hex digits> of the content."`
	Sandbox string `query:"sandbox" required:"true" maxLength:"200" doc:"The sandbox (placed on the calling runner) whose spec names the blob."`
}

func registerBlobs(api huma.API, s *Server) {
	tarContent := map[string]*huma.MediaType{"application/x-tar": {Schema: binarySchema}}
	op := s.operation(userOnly, http.MethodPut, "/blobs/{digest}", "upload-blob", "sandboxes", "Upload a build context or workspace tar",
		http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable)
	op.RequestBody = &huma.RequestBody{Required: true, Description: "The tar, streamed; its SHA-256 must be the path's digest.", Content: tarContent}
	register(api, s, describe(op, "Stores a tar a later create names (build.context, workspace.archive). It is checked against its digest while it streams, "+
		"bounded by the server's upload limit, visible only to you, and removed when no sandbox of yours has named it for a while. "+
		"Uploading a blob you have already is harmless; HEAD (204 or 404) tells whether to skip it."), s.uploadBlob)

	op = s.operation(userOnly, http.MethodHead, "/blobs/{digest}", "head-blob", "sandboxes", "Check an upload exists", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "204 when you have uploaded this blob (its size in the CodePod-Blob-Size header), 404 when not."), s.headBlob)

	op = s.operation(runnerOnly, http.MethodGet, "/runners/blobs/{digest}", "download-blob", "runner-protocol", "Download a blob a sandbox needs",
		http.StatusNotFound)
	op.Responses = map[string]*huma.Response{"200": {Description: "The blob's bytes.", Content: tarContent}}
	register(api, s, describe(op, "Streams a build context or workspace tar named by the spec of a sandbox placed on the calling runner."), s.downloadBlob)
}

func (s *Server) uploadBlob(ctx context.Context, in *putBlobInput) (*blobOutput, error) {
	clearWriteDeadline(ctx)
	u := caller(ctx)
	if ok, size, err := s.haveBlob(u.ID, in.Digest); err != nil {
		return nil, err
	} else if ok {
		io.Copy(io.Discard, io.LimitReader(in.body, 64<<10)) // let the client finish a small send
		return &blobOutput{Body: Blob{Digest: in.Digest, Size: size}}, nil
	}
	n, err := s.putBlob(u.ID, in.Digest, in.body)
	if err != nil {
		return nil, err
	}
	logger(ctx).Info("blob uploaded", "digest", in.Digest, "bytes", n)
	return &blobOutput{Body: Blob{Digest: in.Digest, Size: n}}, nil
}

func (s *Server) headBlob(ctx context.Context, in *blobInput) (*headBlobOutput, error) {
	ok, size, err := s.haveBlob(caller(ctx).ID, in.Digest)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, codepod.Errorf(codepod.ENOTFOUND, "no blob %s: upload it with PUT", in.Digest)
	}
	return &headBlobOutput{Size: size}, nil
}

func (s *Server) downloadBlob(ctx context.Context, in *runnerBlobInput) (*huma.StreamResponse, error) {
	r := callerRunner(ctx)
	sb, err := s.st.Sandbox(ctx, in.Sandbox)
	if err != nil || sb.RunnerID != r.ID {
		return nil, codepod.Errorf(codepod.ENOTFOUND, "no sandbox %s on this runner", in.Sandbox)
	}
	named := false
	for _, d := range blobRefs(&sb.Spec) {
		named = named || d == in.Digest
	}
	if !named {
		return nil, codepod.Errorf(codepod.ENOTFOUND, "sandbox %s names no blob %s", sb.ID, in.Digest)
	}
	p, err := s.blobPath(sb.OwnerID, in.Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, codepod.Errorf(codepod.ENOTFOUND, "blob %s of sandbox %s is no longer on the server: create the sandbox again to upload it", in.Digest, sb.ID)
	}
	if err != nil {
		return nil, err
	}
	fi, _ := f.Stat()
	now := s.now()
	os.Chtimes(p, now, now)
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer f.Close()
		clearWriteDeadline(ctx)
		hctx.SetHeader("Content-Type", "application/x-tar")
		hctx.SetHeader("Content-Length", strconv.FormatInt(fi.Size(), 10))
		hctx.SetStatus(http.StatusOK)
		io.Copy(hctx.BodyWriter(), f)
	}}, nil
}

// RunBlobCollector runs CollectBlobs every hour (more often with a short
// BlobGrace) until ctx ends.
func (s *Server) RunBlobCollector(ctx context.Context) {
	every := min(max(s.cfg.BlobGrace/4, time.Minute), time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.CollectBlobs(ctx); err != nil {
			s.log.Warn("blob collection failed", "err", err)
		} else if n > 0 {
			s.log.Info("unreferenced blobs removed", "count", n)
		}
	}
}

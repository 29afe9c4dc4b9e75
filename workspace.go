package codepod

import (
	"path"
	"strings"
)

// WorkspaceSpec copies a project's files into the sandbox: the runner
// extracts the uploaded tar Archive into Folder before the container
// starts (a copy, not a bind mount: the runner may be on another host).
type WorkspaceSpec struct {
	// Archive is the digest ("sha256:<hex>") of a tar uploaded with
	// PUT /api/v1/blobs/{digest} by the sandbox's owner.
	Archive string `json:"archive"`
	// Folder is the absolute path in the container, e.g.
	// /workspaces/project.
	Folder string `json:"folder"`
}

// DefaultWorkspaceParent is where a project folder goes when the config
// names no workspaceFolder: /workspaces/<basename>.
const DefaultWorkspaceParent = "/workspaces"

func (w *WorkspaceSpec) validate() error {
	if !ValidDigest(w.Archive) {
		return Errorf(EINVALID, "workspace.archive %q must be the sha256:<64 hex> digest of an uploaded tar (PUT /api/v1/blobs/{digest})", w.Archive)
	}
	if !path.IsAbs(w.Folder) || path.Clean(w.Folder) == "/" || len(w.Folder) > 1024 || strings.ContainsRune(w.Folder, 0) {
		return Errorf(EINVALID, "workspace.folder %q must be an absolute path below / in the container, e.g. /workspaces/project", w.Folder)
	}
	w.Folder = path.Clean(w.Folder)
	return nil
}

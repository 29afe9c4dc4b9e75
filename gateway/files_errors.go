package gateway

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/codepod-dev/codepod"
	"github.com/pkg/sftp"
)

// fileError maps an SFTP failure on path p to a *codepod.Error a user can
// act on; op names what was tried, for the logs.
func fileError(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var ce *codepod.Error
	if errors.As(err, &ce) {
		return err
	}
	if e := classify(p, err); e != nil {
		return fmt.Errorf("%w (%s: %v)", e, op, err)
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

// classify returns the domain error for err, or nil for an unexpected one.
func classify(p string, err error) *codepod.Error {
	var se *sftp.StatusError
	isStatus := errors.As(err, &se)
	switch {
	case errors.Is(err, os.ErrNotExist) || (isStatus && se.FxCode() == sftp.ErrSSHFxNoSuchFile):
		return codepod.Errorf(codepod.ENOTFOUND, "path %s not found in sandbox", p)
	case errors.Is(err, os.ErrPermission) || (isStatus && se.FxCode() == sftp.ErrSSHFxPermissionDenied):
		return codepod.Errorf(codepod.EFORBIDDEN, "permission denied for path %s in sandbox", p)
	case isStatus:
		return classifyMessage(p, strings.ToLower(se.Error()))
	case errors.Is(err, syscall.ENOTDIR): // from the client's own MkdirAll
		return classifyMessage(p, "not a directory")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sftp.ErrSSHFxConnectionLost):
		return codepod.Errorf(codepod.EUNAVAILABLE, "lost the connection to the sandbox agent while working on %s", p)
	}
	return nil
}

// classifyMessage reads the errno text the agent's SFTP server sends with
// a generic failure status.
func classifyMessage(p, msg string) *codepod.Error {
	switch {
	case strings.Contains(msg, "not a directory"):
		return codepod.Errorf(codepod.EINVALID, "path %s: a component of it is not a directory", p)
	case strings.Contains(msg, "is a directory"):
		return codepod.Errorf(codepod.EINVALID, "%s is a directory", p)
	case strings.Contains(msg, "directory not empty"):
		return codepod.Errorf(codepod.EINVALID, "directory %s is not empty; delete it recursively", p)
	case strings.Contains(msg, "file exists"):
		return codepod.Errorf(codepod.ECONFLICT, "path %s already exists", p)
	case strings.Contains(msg, "read-only file system"):
		return codepod.Errorf(codepod.EFORBIDDEN, "path %s is on a read-only file system", p)
	case strings.Contains(msg, "no space left"), strings.Contains(msg, "quota"):
		return codepod.Errorf(codepod.ETOOLARGE, "no space left in the sandbox for %s", p)
	case strings.Contains(msg, "file name too long"):
		return codepod.Errorf(codepod.EINVALID, "path %s is too long", p)
	}
	return nil
}

// checkPath rejects paths the agent cannot take.
func checkPath(p string) error {
	switch {
	case p == "":
		return codepod.Errorf(codepod.EINVALID, "path is required")
	case strings.ContainsRune(p, 0):
		return codepod.Errorf(codepod.EINVALID, "path must not contain NUL bytes")
	case len(p) > 4096:
		return codepod.Errorf(codepod.EINVALID, "path is longer than 4096 bytes")
	}
	return nil
}

package gateway

import (
	"context"
	"os"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
)

// virtualRoots hold files whose stat size says nothing of their content:
// /proc files stat as 0 bytes and change as they are read, /sys files as
// 4096 whatever they hold.
var virtualRoots = []string{"/proc", "/sys"}

// KnownSize is the size a download of p (stat as fi) can announce: a
// regular file with a size, whose real path (symlinks resolved) is outside
// /proc and /sys. ok is false for every other file, which is then sent to
// its end without a length.
func KnownSize(ctx context.Context, c *ssh.Client, p string, fi os.FileInfo) (size int64, ok bool) {
	if !fi.Mode().IsRegular() || fi.Size() <= 0 || isVirtual(p) {
		return 0, false
	}
	sc, err := open(ctx, c, p)
	if err != nil {
		return 0, false
	}
	real, err := sc.RealPath(p)
	if err != nil || isVirtual(real) {
		return 0, false
	}
	return fi.Size(), true
}

func isVirtual(p string) bool {
	clean := path.Clean("/" + p)
	for _, root := range virtualRoots {
		if clean == root || strings.HasPrefix(clean, root+"/") {
			return true
		}
	}
	return false
}

package images

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// DefaultCacheDir is where base builds keep debootstrap's downloads:
// $XDG_CACHE_HOME/codepod/debootstrap (for root, /root/.cache/…).
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "codepod", "debootstrap")
}

// packageCache makes the package cache dir and takes its lock: two
// debootstraps writing one cache at once could copy a file the other is
// still writing. The lock is held for the whole debootstrap (a second
// build waits, then finds every package cached). It answers "" (no cache)
// when the cache is off or cannot be made, which is logged: a build never
// fails for want of a cache.
func packageCache(dir string, log *slog.Logger) (string, func(), error) {
	if dir == "off" {
		return "", func() {}, nil
	}
	if dir == "" {
		dir = DefaultCacheDir()
	}
	if dir == "" {
		return "", func() {}, nil
	}
	abs, err := filepath.Abs(dir) // debootstrap wants an absolute path
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		log.Warn("building without a package cache", "dir", dir, "err", err)
		return "", func() {}, nil
	}
	unlock, err := lockDir(abs)
	if err != nil {
		return "", nil, fmt.Errorf("package cache %s: %w", abs, err)
	}
	log.Info("debootstrap package cache", "dir", abs)
	return abs, unlock, nil
}

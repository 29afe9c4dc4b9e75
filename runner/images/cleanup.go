package images

import (
	"bufio"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// removeTree deletes a build directory. debootstrap mounts /proc and /sys
// inside the root file system and a failed run may leave them mounted; so
// any mount below dir is detached first, and the tree is kept (with a
// warning) if one cannot be, rather than recursing into the host's /proc.
func removeTree(dir string, log *slog.Logger) {
	for _, m := range mountsBelow(dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			log.Warn("cannot unmount a leftover mount; keeping the build directory", "mount", m, "err", err)
			return
		}
	}
	if len(mountsBelow(dir)) > 0 {
		log.Warn("mounts remain below the build directory; keeping it", "dir", dir)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("cannot remove the build directory", "dir", dir, "err", err)
	}
}

// mountsBelow lists mount points under dir, deepest first.
func mountsBelow(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	dir = filepath.Clean(dir) + "/"
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(unescapeMount(fields[4]), dir) {
			out = append(out, unescapeMount(fields[4]))
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, …).
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

package gateway_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/codepod-dev/codepod/gateway"
)

// TestKnownSize trusts stat only for regular files with a size outside
// /proc and /sys, through symlinks too.
func TestKnownSize(t *testing.T) {
	c := newSandbox(t).client(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "regular"), []byte("twelve bytes"))
	writeFile(t, filepath.Join(dir, "empty"), nil)
	os.Symlink("/proc/self/status", filepath.Join(dir, "to-proc"))
	os.Symlink("/sys/kernel", filepath.Join(dir, "sysdir"))
	for _, tc := range []struct {
		path  string
		known bool
	}{
		{filepath.Join(dir, "regular"), true},
		{filepath.Join(dir, "empty"), false},
		{"/proc/self/status", false},
		{"/proc/version", false},
		{filepath.Join(dir, "to-proc"), false},
		{filepath.Join(dir, "sysdir", "osrelease"), false},
		{"/sys/kernel/osrelease", false},
	} {
		r, fi, err := gateway.ReadFile(ctx(t), c, tc.path)
		if err != nil {
			if tc.known {
				t.Fatal(err)
			}
			continue // no /sys here, say
		}
		r.Close()
		size, known := gateway.KnownSize(ctx(t), c, tc.path, fi)
		if known != tc.known || (known && size != 12) {
			t.Errorf("%s: size %d known %v, want known %v", tc.path, size, known, tc.known)
		}
	}
}

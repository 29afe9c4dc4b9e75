package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"
)

// TestBinarySFTPKeepsRelativeSymlinks: a relative symlink made over SFTP
// keeps its relative target (pkg/sftp's working-directory option would make
// it absolute), and the image command still starts in the agent's original
// working directory.
func TestBinarySFTPKeepsRelativeSymlinks(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	startBinary(t, f, false, "sh", "-c", "pwd > "+filepath.Join(dir, "cwd")+"; sleep 60")
	waitFile(t, filepath.Join(dir, "cwd"))
	fc, err := sftp.NewClient(f.client(t))
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	link := filepath.Join(dir, "link")
	if err := fc.Symlink("../sibling/target", link); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(link); err != nil || got != "../sibling/target" {
		t.Fatalf("symlink made over SFTP points to %q (%v), want ../sibling/target", got, err)
	}
	wd, _ := os.Getwd()
	if b, _ := os.ReadFile(filepath.Join(dir, "cwd")); strings.TrimSpace(string(b)) != wd {
		t.Fatalf("image command started in %q, want the agent's working directory %q", b, wd)
	}
}

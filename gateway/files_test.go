package gateway_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// The agent runs in this process, so the sandbox's files are the test's
// own: the tests check what the file functions did with the os package.

func TestFilesLargeRoundTrip(t *testing.T) {
	c := newSandbox(t).client(t)
	data := make([]byte, 20<<20)
	rand.Read(data)
	p := filepath.Join(t.TempDir(), "new", "parents", "big.bin")
	n, err := gateway.WriteFile(ctx(t), c, p, bytes.NewReader(data), 0)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("WriteFile: %d bytes, %v", n, err)
	}
	if onDisk, err := os.ReadFile(p); err != nil || sha256.Sum256(onDisk) != sha256.Sum256(data) {
		t.Fatalf("file on disk differs from what was written (%v)", err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
	}
	r, fi, err := gateway.ReadFile(ctx(t), c, p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got bytes.Buffer
	if _, err := io.Copy(&got, r); err != nil {
		t.Fatal(err)
	}
	if fi.Size() != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
		t.Errorf("read %d bytes (stat %d), want the %d written", got.Len(), fi.Size(), len(data))
	}
}

func TestWriteFileModeAndOverwrite(t *testing.T) {
	c := newSandbox(t).client(t)
	p := filepath.Join(t.TempDir(), "script.sh")
	if _, err := gateway.WriteFile(ctx(t), c, p, strings.NewReader("a long first version\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.WriteFile(ctx(t), c, p, strings.NewReader("v2\n"), 0); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "v2\n" || fi.Mode().Perm() != 0o750 {
		t.Errorf("content %q mode %v, want \"v2\\n\" and the mode kept at 0750", b, fi.Mode().Perm())
	}
}

func TestList(t *testing.T) {
	c := newSandbox(t).client(t)
	dir := t.TempDir()
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("hello"), 0o640)
	os.Chmod(filepath.Join(dir, "b.txt"), 0o640)
	os.Chtimes(filepath.Join(dir, "b.txt"), mtime, mtime)
	os.Mkdir(filepath.Join(dir, "a-dir"), 0o755)
	os.Symlink("/etc/hostname", filepath.Join(dir, "c-link"))

	entries, _, err := gateway.ListPage(ctx(t), c, dir, "", gateway.DefaultListLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries: %+v", len(entries), entries)
	}
	want := []struct{ name, typ string }{{"a-dir", gateway.TypeDir}, {"b.txt", gateway.TypeFile}, {"c-link", gateway.TypeSymlink}}
	for i, w := range want {
		e := entries[i]
		if e.Name != w.name || e.Type != w.typ || e.Path != filepath.Join(dir, w.name) {
			t.Errorf("entry %d: %+v, want %s of type %s", i, e, w.name, w.typ)
		}
	}
	f := entries[1]
	if f.Size != 5 || f.Mode.Perm() != 0o640 || !f.ModTime.Equal(mtime) || f.Mode.String() != "-rw-r-----" {
		t.Errorf("file entry %+v: want size 5, mode -rw-r-----, mtime %s", f, mtime)
	}
}

func TestRelativePathsStartInTheHome(t *testing.T) {
	c := newSandbox(t).client(t)
	home := strings.TrimSpace(string(exec(t, c, gateway.ExecRequest{Command: []string{"pwd"}}).Stdout.Data))
	entries, _, err := gateway.ListPage(ctx(t), c, ".", "", gateway.DefaultListLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Dir(e.Path) != home {
			t.Fatalf("entry %s of \".\" is not in the home %s", e.Path, home)
		}
	}
}

func TestMkdirAndRemove(t *testing.T) {
	c := newSandbox(t).client(t)
	dir := t.TempDir()
	deep := filepath.Join(dir, "x", "y", "z")
	if err := gateway.Mkdir(ctx(t), c, deep, true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(deep); err != nil || !fi.IsDir() {
		t.Fatalf("mkdir -p did not create %s", deep)
	}
	if err := gateway.Mkdir(ctx(t), c, deep, true); err != nil {
		t.Errorf("mkdir -p of an existing directory: %v", err)
	}
	wantCode(t, gateway.Mkdir(ctx(t), c, deep, false), codepod.ECONFLICT, "already exists")
	wantCode(t, gateway.Mkdir(ctx(t), c, filepath.Join(dir, "no", "such"), false), codepod.ENOTFOUND, "parent directory")

	os.WriteFile(filepath.Join(deep, "f"), []byte("x"), 0o644)
	wantCode(t, gateway.Remove(ctx(t), c, filepath.Join(dir, "x"), false), codepod.EINVALID, "not empty")
	if err := gateway.Remove(ctx(t), c, filepath.Join(dir, "x"), true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Error("recursive remove left the directory")
	}

	target := filepath.Join(dir, "target")
	os.Mkdir(target, 0o755)
	os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o644)
	os.Symlink(target, filepath.Join(dir, "link"))
	if err := gateway.Remove(ctx(t), c, filepath.Join(dir, "link"), true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Error("removing a symlink touched its target")
	}
	wantCode(t, gateway.Remove(ctx(t), c, filepath.Join(dir, "link"), false), codepod.ENOTFOUND, "not found in sandbox")
	wantCode(t, gateway.Remove(ctx(t), c, "/", true), codepod.EINVALID)
}

func TestFileErrors(t *testing.T) {
	c := newSandbox(t).client(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, []byte("x"), 0o644)

	_, _, err := gateway.ReadFile(ctx(t), c, "/no/such/file")
	wantCode(t, err, codepod.ENOTFOUND, "path /no/such/file not found in sandbox")
	_, _, err = gateway.ReadFile(ctx(t), c, dir)
	wantCode(t, err, codepod.EINVALID, dir+" is a directory")
	_, _, err = gateway.ListPage(ctx(t), c, file, "", 10)
	wantCode(t, err, codepod.EINVALID, "not a directory")
	_, _, err = gateway.ListPage(ctx(t), c, filepath.Join(dir, "missing"), "", 10)
	wantCode(t, err, codepod.ENOTFOUND, "not found in sandbox")
	_, err = gateway.WriteFile(ctx(t), c, filepath.Join(file, "child"), strings.NewReader("x"), 0)
	wantCode(t, err, codepod.EINVALID, "not a directory")
	_, err = gateway.WriteFile(ctx(t), c, dir, strings.NewReader("x"), 0)
	wantCode(t, err, codepod.EINVALID, "is a directory")
	_, _, err = gateway.ReadFile(ctx(t), c, "")
	wantCode(t, err, codepod.EINVALID, "path is required")

	// Even root may not write a read-only sysctl: permission denied (or a
	// read-only /proc/sys) is EFORBIDDEN.
	_, err = gateway.WriteFile(ctx(t), c, "/proc/sys/kernel/osrelease", strings.NewReader("x"), 0)
	wantCode(t, err, codepod.EFORBIDDEN, "/proc/sys/kernel/osrelease")
}

package gateway_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// makeTree writes a small tree with a symlink that points outside it.
func makeTree(t *testing.T, dir string) {
	t.Helper()
	big := make([]byte, 1<<20+123)
	rand.Read(big)
	files := map[string][]byte{"a.txt": []byte("alpha\n"), "sub/b.bin": big, "sub/deep/c": nil}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "sub", "deep", "c"), 0o755)
	os.Mkdir(filepath.Join(dir, "empty"), 0o700)
	os.Symlink("../outside/secret", filepath.Join(dir, "escape"))
	os.Symlink("a.txt", filepath.Join(dir, "sub", "rel"))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(dir, "a.txt"), old, old)
}

// snapshot describes a tree: per relative path, type, permissions, link
// target or content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		fi, _ := os.Lstat(p)
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += " " + string(b) + " " + fi.ModTime().UTC().Format(time.RFC3339)
		}
		out[rel] = desc
		return nil
	})
	delete(out, ".")
	return out
}

func TestTarRoundTrip(t *testing.T) {
	c := newSandbox(t).client(t)
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "new", "dst")
	makeTree(t, src)
	var archive bytes.Buffer
	if err := gateway.TarDir(ctx(t), c, src, &archive); err != nil {
		t.Fatal(err)
	}
	n, err := gateway.UntarDir(ctx(t), c, dst, bytes.NewReader(archive.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want, got := snapshot(t, src), snapshot(t, dst)
	if n != len(want) {
		t.Errorf("UntarDir wrote %d entries, the tree has %d", n, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %.80q, want %.80q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("extracted %d entries, want %d", len(got), len(want))
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(dst), "outside")); !os.IsNotExist(err) {
		t.Error("extraction followed the escaping symlink")
	}
}

// archive builds a tar stream from headers (regular files get "x").
func archive(t *testing.T, hdrs ...*tar.Header) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	return bytes.NewReader(buf.Bytes())
}

func TestUntarRefusesEscapes(t *testing.T) {
	c := newSandbox(t).client(t)
	for _, tc := range []struct {
		name string
		hdrs []*tar.Header
		msg  string
	}{
		{"dot-dot", []*tar.Header{{Name: "../evil", Typeflag: tar.TypeReg}}, "outside"},
		{"hidden dot-dot", []*tar.Header{{Name: "a/../../evil", Typeflag: tar.TypeReg}}, "outside"},
		{"absolute", []*tar.Header{{Name: "/tmp/evil", Typeflag: tar.TypeReg}}, "outside"},
		{"through its own symlink", []*tar.Header{
			{Name: "l", Typeflag: tar.TypeSymlink, Linkname: ".."},
			{Name: "l/evil", Typeflag: tar.TypeReg},
		}, "below the symlink"},
		{"hard link out", []*tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../evil"}}, "outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "dir")
			_, err := gateway.UntarDir(ctx(t), c, dir, archive(t, tc.hdrs...))
			wantCode(t, err, codepod.EINVALID, tc.msg)
			if _, err := os.Lstat(filepath.Join(base, "evil")); !os.IsNotExist(err) {
				t.Error("an entry was written outside the directory")
			}
		})
	}
}

func TestUntarReplacesItsOwnSymlinkInsteadOfWritingThroughIt(t *testing.T) {
	c := newSandbox(t).client(t)
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	dir := filepath.Join(base, "dir")
	n, err := gateway.UntarDir(ctx(t), c, dir, archive(t,
		&tar.Header{Name: "f", Typeflag: tar.TypeSymlink, Linkname: victim},
		&tar.Header{Name: "f", Typeflag: tar.TypeReg},
	))
	if err != nil || n != 2 {
		t.Fatalf("UntarDir: %d, %v", n, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the symlink's target was overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "x" {
		t.Errorf("f = %q, want the regular file", b)
	}
}

func TestTarErrors(t *testing.T) {
	c := newSandbox(t).client(t)
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	wantCode(t, gateway.TarDir(ctx(t), c, file, &bytes.Buffer{}), codepod.EINVALID, "not a directory")
	wantCode(t, gateway.TarDir(ctx(t), c, "/no/such/dir", &bytes.Buffer{}), codepod.ENOTFOUND, "not found")
	_, err := gateway.UntarDir(ctx(t), c, t.TempDir(), bytes.NewReader([]byte("this is not a tar stream, clearly not, no............................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................")))
	wantCode(t, err, codepod.EINVALID, "tar")
}

// TestUntarDirAsOwner: with an owner, the files and directories written
// are that user's (the folder itself and symlinks keep theirs); an owner
// the sandbox does not know is refused before anything is written.
func TestUntarDirAsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root (the agent runs as the test's user)")
	}
	c := newSandbox(t).client(t)
	dir := filepath.Join(t.TempDir(), "ws")
	n, err := gateway.UntarDirAs(ctx(t), c, dir, archive(t,
		&tar.Header{Name: "sub/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "sub/f", Typeflag: tar.TypeReg},
		&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
	), "nobody")
	if err != nil || n != 3 {
		t.Fatalf("UntarDirAs: %d, %v", n, err)
	}
	owner := func(p string) int {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return int(fi.Sys().(*syscall.Stat_t).Uid)
	}
	if owner(filepath.Join(dir, "sub")) != 65534 || owner(filepath.Join(dir, "sub", "f")) != 65534 {
		t.Errorf("sub and sub/f are not nobody's")
	}
	if owner(dir) != 0 || owner(filepath.Join(dir, "link")) != 0 || owner("/etc/passwd") != 0 {
		t.Errorf("the folder, the symlink or its target changed owner")
	}
	_, err = gateway.UntarDirAs(ctx(t), c, filepath.Join(dir, "other"), archive(t, &tar.Header{Name: "g", Typeflag: tar.TypeReg}), "no-such-user-here")
	if codepod.ErrorCode(err) != codepod.EINVALID {
		t.Fatalf("unknown owner: %v; want invalid", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); err == nil {
		t.Errorf("an unknown owner still wrote the folder")
	}
}

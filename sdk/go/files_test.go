package codepod_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pkg/sftp"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

// nonUTF8 is every byte value, twice: no text encoding survives it.
var nonUTF8 = append(bytes.Repeat([]byte{0xff, 0xfe, 0x00, 0xc3}, 8), func() []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()...)

func TestFiles(t *testing.T) {
	c := newClient(t)
	sb := newSandbox(t, c)
	ctx := t.Context()
	files := sb.Files()

	if err := files.Write(ctx, "/data/sub/blob.bin", nonUTF8); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := files.Read(ctx, "/data/sub/blob.bin")
	if err != nil || !bytes.Equal(got, nonUTF8) {
		t.Fatalf("Read = %d bytes, %v; want the %d bytes written", len(got), err, len(nonUTF8))
	}
	if err := files.Mkdir(ctx, "/data/empty/deeper"); err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	list, err := files.List(ctx, "/data")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name+":"+e.Type)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"empty:dir", "sub:dir"}) {
		t.Errorf("List(/data) = %v", names)
	}
	sub, err := files.List(ctx, "/data/sub")
	if err != nil || len(sub) != 1 || sub[0].Size != int64(len(nonUTF8)) || sub[0].Mode.Perm() != 0o644 || sub[0].ModTime.IsZero() {
		t.Errorf("List(/data/sub) = %+v, %v", sub, err)
	}

	if err := files.Remove(ctx, "/data/empty"); !errors.Is(err, codepod.ErrBadRequest) && !errors.Is(err, codepod.ErrConflict) {
		t.Errorf("Remove(non-empty dir) = %v, want a refusal", err)
	}
	if err := files.RemoveAll(ctx, "/data/empty"); err != nil {
		t.Errorf("RemoveAll: %v", err)
	}
	if _, err := files.Read(ctx, "/data/empty"); !errors.Is(err, codepod.ErrNotFound) {
		t.Errorf("Read(removed) = %v, want ErrNotFound", err)
	}
	if _, err := files.Read(ctx, "/data/sub"); !errors.Is(err, codepod.ErrBadRequest) {
		t.Errorf("Read(a directory) = %v, want ErrBadRequest", err)
	}
}

func TestUploadDownloadDirectories(t *testing.T) {
	c := newClient(t)
	sb := newSandbox(t, c)
	ctx := t.Context()

	src := t.TempDir()
	writeTree(t, src, map[string][]byte{"a.txt": []byte("alpha\n"), "bin/blob": nonUTF8, "deep/er/c": []byte("c")})
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	n, err := sb.Files().Upload(ctx, src, "/up")
	if err != nil || n < 3 {
		t.Fatalf("Upload = %d, %v; want at least 3 files", n, err)
	}
	res, err := sb.Exec(ctx, []string{"cat", "/up/link", "/up/deep/er/c"}, nil)
	if err != nil || res.Stdout != "alpha\nc" {
		t.Fatalf("cat in the sandbox = %+v, %v", res, err)
	}
	dst := t.TempDir()
	if err := sb.Files().Download(ctx, "/up", dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"a.txt": []byte("alpha\n"), "bin/blob": nonUTF8, "deep/er/c": []byte("c"), "link": []byte("alpha\n")} {
		if got, err := os.ReadFile(filepath.Join(dst, name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("downloaded %s = %q, %v", name, got, err)
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "a.txt" {
		t.Errorf("downloaded link -> %q, %v; want a.txt", target, err)
	}
}

func TestSSH(t *testing.T) {
	c := newClient(t)
	sb := newSandbox(t, c)
	sc, err := sb.SSH(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	fs, err := sftp.NewClient(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	f, err := fs.Create("/tmp/over-sftp")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(nonUTF8)
	f.Close()
	got, err := sb.Files().Read(t.Context(), "/tmp/over-sftp")
	if err != nil || !bytes.Equal(got, nonUTF8) {
		t.Errorf("file written over SFTP, read over REST: %d bytes, %v", len(got), err)
	}
}

func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

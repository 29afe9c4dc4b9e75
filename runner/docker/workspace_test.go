package docker_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/runner/docker"
)

func tarOf(t *testing.T, hs ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(h.Name))
		}
	}
	tw.Close()
	return b.Bytes()
}

// TestRebase: a workspace tar is moved below its folder, with the folder's
// parents made first and every entry owned by the given user; an entry or
// hard link that would leave the folder is refused.
func TestRebase(t *testing.T) {
	in := tarOf(t,
		&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "src/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 501},
		&tar.Header{Name: "src/main.go", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 501, Uname: "me"},
		&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, // a symlink inside the container is harmless
		&tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "src/main.go"},
	)
	var out bytes.Buffer
	none := func(string) bool { return false }
	if err := docker.Rebase(bytes.NewReader(in), "workspaces/shop", 1000, 1000, none, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "workspaces/" {
			if h.Uid != 0 {
				t.Errorf("a made parent %s is owned by %d, want root", h.Name, h.Uid)
			}
		} else if h.Uid != 1000 || h.Gid != 1000 || h.Uname != "" {
			t.Errorf("%s owned by %d:%d %q, want 1000:1000", h.Name, h.Uid, h.Gid, h.Uname)
		}
		got = append(got, h.Name+"→"+h.Linkname)
	}
	want := "workspaces/→ workspaces/shop/→ workspaces/shop/src/→ workspaces/shop/src/main.go→ workspaces/shop/link→/etc/passwd workspaces/shop/hard→workspaces/shop/src/main.go"
	if strings.Join(got, " ") != want {
		t.Fatalf("rebased:\n%s\nwant:\n%s", strings.Join(got, " "), want)
	}

	for _, bad := range []*tar.Header{
		{Name: "../escape", Typeflag: tar.TypeReg},
		{Name: "/etc/cron.d/x", Typeflag: tar.TypeReg},
		{Name: "a/../../escape", Typeflag: tar.TypeReg},
		{Name: "hard", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"},
	} {
		err := docker.Rebase(bytes.NewReader(tarOf(t, bad)), "workspaces/shop", 0, 0, none, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "leaves its folder") {
			t.Errorf("%s (%s): %v, want a refusal", bad.Name, bad.Linkname, err)
		}
	}
}

// TestRebaseKeepsExistingFolders: a workspace copied into a folder the
// image has (say /tmp) adds no entry for it or its parents, so their mode
// (/tmp's 1777) and owner stay.
func TestRebaseKeepsExistingFolders(t *testing.T) {
	in := tarOf(t, &tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o700}, &tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644})
	var out bytes.Buffer
	if err := docker.Rebase(bytes.NewReader(in), "tmp", 1000, 1000, func(string) bool { return true }, &out); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&out)
	var got []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		got = append(got, h.Name)
	}
	if strings.Join(got, " ") != "tmp/f" {
		t.Fatalf("entries %q, want only tmp/f (no entry that would change /tmp)", got)
	}
}

package images

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMirrorFromAptSources(t *testing.T) {
	dir := t.TempDir()
	deb822 := filepath.Join(dir, "debian.sources")
	os.WriteFile(deb822, []byte(`Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://mirror.example.org/debian http://other.example.org/debian
Suites: bookworm bookworm-updates
Components: main
`), 0o644)
	if got := mirrorFromDeb822(deb822); got != "http://mirror.example.org/debian" {
		t.Errorf("deb822 mirror %q", got)
	}
	list := filepath.Join(dir, "sources.list")
	os.WriteFile(list, []byte("# comment\ndeb http://security.debian.org/debian-security bookworm-security main\ndeb http://ftp.example.org/debian bookworm main\n"), 0o644)
	if got := mirrorFromList(list); got != "http://ftp.example.org/debian" {
		t.Errorf("sources.list mirror %q", got)
	}
	if got := mirrorFromDeb822(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("missing file gave %q", got)
	}
}

package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDirectArgv(t *testing.T) {
	for line, want := range map[string][]string{
		"exec true":                       {"true"},
		"exec ls -l /tmp":                 {"ls", "-l", "/tmp"},
		`exec echo 'a b' '*' '$HOME'`:     {"echo", "a b", "*", "$HOME"},
		`exec printf '%s\n' 'it'\''s' ''`: {"printf", `%s\n`, "it's", ""},
		"exec env A=1 x,y:z@w+v%u":        {"env", "A=1", "x,y:z@w+v%u"},
		"exec exec":                       {"exec"},
		"exec 'my prog' arg":              {"my prog", "arg"},
	} {
		got, ok := directArgv(line)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("directArgv(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
	for _, line := range []string{
		"true", "exec", "exec ", "exec  true", "exec true ", "exec true; false", "exec echo $HOME",
		"exec ls *", "exec echo ~", "exec 'unterminated", "exec -a name true", "exec '' x",
		"echo hi", "exec a\tb", "exec a|b", `exec a\ b`, "exec a&", "exec \"x\"",
	} {
		if got, ok := directArgv(line); ok {
			t.Errorf("directArgv(%q) = %q, want a shell", line, got)
		}
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	bin, other := filepath.Join(dir, "bin"), filepath.Join(dir, "other")
	for _, d := range []string{bin, other} {
		os.Mkdir(d, 0o755)
	}
	os.WriteFile(filepath.Join(bin, "prog"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(other, "prog"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "noexec"), nil, 0o644)
	os.Mkdir(filepath.Join(bin, "adir"), 0o755)
	path := bin + ":" + other
	cases := []struct {
		name, path, want string
		code             int // 0: found, else the exit code of the failure
	}{
		{"prog", path, filepath.Join(bin, "prog"), 0},
		{"prog", other + ":" + bin, filepath.Join(other, "prog"), 0},
		{"prog", "bin", filepath.Join(bin, "prog"), 0}, // relative to the working directory
		{"bin/prog", "", filepath.Join(bin, "prog"), 0},
		{"missing", path, "", 127},
		{"noexec", path, "", 126},
		{"adir", path, "", 126},
		{"./missing", path, "", 127},
		{"prog", "", "", 127},
	}
	for _, tc := range cases {
		c := command{dir: dir, env: []string{"PATH=" + tc.path}}
		res, ok := c.resolveDirect([]string{tc.name})
		switch {
		case tc.code == 0 && (!ok || c.path != tc.want):
			t.Errorf("%s in %q: %q, %v (%s); want %s", tc.name, tc.path, c.path, ok, res.failure, tc.want)
		case tc.code != 0 && (ok || res.code != tc.code):
			t.Errorf("%s in %q: ok %v, exit %d (%s); want exit %d", tc.name, tc.path, ok, res.code, res.failure, tc.code)
		}
	}
}

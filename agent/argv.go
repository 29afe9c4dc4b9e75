package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Direct argv execution.
//
// An exec request carries one command line, which the agent normally hands
// to the account's shell (`shell -c LINE`). Starting a shell costs more than
// the rest of an exec together (bash: ~10 ms of a 12 ms exec of `true`), so
// a line that only says "exec this argv" is run without one: `exec` followed
// by words that are each plain ([A-Za-z0-9_./:,+@%=-]) or single-quoted
// (with '\'' for a quote inside), which is exactly what the gateway writes
// for an API exec's command array. A shell would do nothing to such words
// (no expansion, globbing or splitting applies to them), so running the argv
// directly gives the same program, arguments, environment and directory,
// and the same exit codes for a missing (127) or unrunnable (126) command.
// Any other line, and every `shell` API form (["sh", "-c", script]) beyond
// the sh it names, goes through a shell as before.

// directArgv parses line as `exec WORD…` in the form above and returns the
// words, or false when the line needs a shell.
func directArgv(line string) ([]string, bool) {
	rest, ok := strings.CutPrefix(line, "exec ")
	if !ok {
		return nil, false
	}
	var argv []string
	for rest != "" {
		var word strings.Builder
		any := false
		for rest != "" && rest[0] != ' ' {
			switch c := rest[0]; {
			case c == '\'':
				end := strings.IndexByte(rest[1:], '\'')
				if end < 0 {
					return nil, false // unterminated quote: let the shell say so
				}
				word.WriteString(rest[1 : 1+end])
				rest = rest[2+end:]
			case c == '\\' && len(rest) > 1 && rest[1] == '\'':
				word.WriteByte('\'')
				rest = rest[2:]
			case plainByte(c):
				word.WriteByte(c)
				rest = rest[1:]
			default:
				return nil, false
			}
			any = true
		}
		if !any {
			return nil, false // two spaces in a row: not the gateway's form
		}
		argv = append(argv, word.String())
		if rest != "" {
			rest = rest[1:] // the space
			if rest == "" {
				return nil, false
			}
		}
	}
	// `exec -a name cmd` and friends are the shell's options, not argv.
	if len(argv) == 0 || argv[0] == "" || strings.HasPrefix(argv[0], "-") {
		return nil, false
	}
	return argv, true
}

// plainByte: a byte a POSIX shell takes literally in an unquoted word, at
// any position ('=' included: after `exec` no word is an assignment).
func plainByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("_./:,+@%=-", c) >= 0
}

// errNotFound is a command found nowhere on PATH.
var errNotFound = errors.New("command not found")

// lookPath finds name as a shell would: a name with a slash is a path
// (relative to dir), any other is searched in the session's PATH (not the
// agent's own), an empty PATH element meaning dir. It returns
// errNotFound (exit 127) or a permission error (126) for a name found only
// as files that cannot be run.
func lookPath(name, path, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, runnable(p)
	}
	var denied error
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = dir
		} else if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		err := runnable(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", errNotFound
}

// runnable: p exists, is not a directory and has an execute bit.
func runnable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return &fs.PathError{Op: "exec", Path: p, Err: syscall.EISDIR}
	case fi.Mode().Perm()&0o111 == 0:
		return &fs.PathError{Op: "exec", Path: p, Err: fs.ErrPermission}
	}
	return nil
}

// resolveDirect fills c.path and c.argv for argv run without a shell, or
// returns the result a shell would give for a command it cannot run.
func (c *command) resolveDirect(argv []string) (result, bool) {
	path, err := lookPath(argv[0], envValue(c.env, "PATH"), c.dir)
	if err != nil {
		code := 126
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotFound) {
			code = 127
		}
		msg := "command not found"
		if !errors.Is(err, errNotFound) {
			msg = unwrapPath(err).Error()
		}
		return result{failure: fmt.Sprintf("codepod-agent: %s: %s", argv[0], msg), code: code}, false
	}
	c.path, c.argv = path, argv
	c.env = setEnv(c.env, "PWD", c.dir) // as the shell would export it
	return result{}, true
}

// envValue is k's value in env, or "".
func envValue(env []string, k string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], k+"="); ok {
			return v
		}
	}
	return ""
}

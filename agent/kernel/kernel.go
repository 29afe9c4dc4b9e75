package kernel

import (
	"bufio"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/codepod-dev/codepod/agent/proc"
)

//go:embed drivers
var drivers embed.FS

// Launch is how the agent starts a kernel: as the sandbox's user, in their
// home, with their environment.
type Launch struct {
	Env  []string
	Dir  string
	Cred *syscall.Credential
	// Start starts a process (the agent's reaper).
	Start func(path string, argv []string, attr *os.ProcAttr) (*proc.Process, error)
}

// interp is a language's interpreter and driver.
type interp struct {
	prog, flag, driver string
}

var interps = map[string]interp{
	Python:     {"python3", "-c", "drivers/python.py"},
	JavaScript: {"node", "-e", "drivers/javascript.js"},
	Bash:       {"bash", "-c", "drivers/bash.sh"},
}

// kernel is a running driver process.
type kernel struct {
	lang     string
	p        *proc.Process
	req      *os.File      // its fd 3
	rep      *bufio.Reader // its fd 4
	repF     *os.File
	out, err *os.File // its fds 1 and 2 (unlinked files)
}

// startKernel starts lang's driver.
func startKernel(lang string, l Launch) (*kernel, error) {
	in, ok := interps[lang]
	if !ok {
		return nil, fmt.Errorf("unknown language %q", lang)
	}
	script, err := drivers.ReadFile(in.driver)
	if err != nil {
		return nil, err
	}
	path, err := lookPath(in.prog, l.Env)
	if err != nil {
		return nil, err
	}
	k := &kernel{lang: lang}
	var files []*os.File // the child's copies, closed here after the start
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	files = append(files, null)
	if k.out, err = outputFile(); err != nil {
		return nil, err
	}
	if k.err, err = outputFile(); err != nil {
		k.out.Close()
		return nil, err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		k.close()
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		k.close()
		return nil, err
	}
	files = append(files, reqR, repW)
	k.req, k.repF, k.rep = reqW, repR, bufio.NewReaderSize(repR, 64<<10)
	k.p, err = l.Start(path, []string{in.prog, in.flag, string(script)}, &os.ProcAttr{
		Dir: l.Dir, Env: append(l.Env, "PYTHONUNBUFFERED=", "NODE_NO_READLINE=1"),
		Files: []*os.File{null, k.out, k.err, reqR, repW},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Credential: l.Cred},
	})
	if err != nil {
		k.close()
		return nil, fmt.Errorf("start %s: %w", in.prog, err)
	}
	return k, nil
}

// outputFile is an unlinked temporary file a kernel writes a stream to:
// every writer (the driver and the cell's children) appends, and the
// agent reads it after the cell and truncates it before the next.
func outputFile() (*os.File, error) {
	f, err := os.CreateTemp("", "codepod-cell-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// O_APPEND: after a truncation, every writer writes from the start.
	return os.OpenFile(f.Name(), os.O_RDWR|os.O_APPEND, 0)
}

func (k *kernel) close() {
	for _, f := range []*os.File{k.req, k.repF, k.out, k.err} {
		if f != nil {
			f.Close()
		}
	}
}

// kill ends the kernel and everything it started.
func (k *kernel) kill() {
	if k.p != nil {
		k.p.SignalGroup(syscall.SIGKILL)
		k.p.Wait()
	}
	k.close()
}

// send writes an execute_request.
func (k *kernel) send(code string, count int) error {
	var line string
	if k.lang == Bash {
		line = "execute_request " + base64.StdEncoding.EncodeToString([]byte(code)) + "\n"
	} else {
		b, _ := json.Marshal(map[string]any{"msg_type": "execute_request", "code": code, "execution_count": count})
		line = string(b) + "\n"
	}
	_, err := io.WriteString(k.req, line)
	return err
}

// read reads the driver's messages up to its execute_reply into res.
func (k *kernel) read(res *Result) error {
	for {
		line, err := k.rep.ReadBytes('\n')
		if err != nil {
			return err
		}
		var m message
		if err := json.Unmarshal(line, &m); err != nil {
			return fmt.Errorf("bad message from the kernel: %w", err)
		}
		switch m.Type {
		case "execute_result", "display_data":
			if len(res.Results) < MaxResults {
				res.Results = append(res.Results, m.Data)
			}
		case "error":
			res.Error = &CellError{Name: m.Ename, Value: m.Evalue, Traceback: m.Traceback}
			if res.Error.Traceback == nil {
				res.Error.Traceback = []string{}
			}
		case "execute_reply":
			res.ExitCode = m.ExitCode
			return nil
		}
	}
}

// reset empties the output files before a cell.
func (k *kernel) reset() {
	k.out.Truncate(0)
	k.err.Truncate(0)
}

// collect reads the cell's output, at most max bytes a stream.
func (k *kernel) collect(res *Result, max int) {
	res.Stdout, res.StdoutTruncated = readOutput(k.out, max)
	res.Stderr, res.StderrTruncated = readOutput(k.err, max)
}

func readOutput(f *os.File, max int) (string, bool) {
	buf := make([]byte, max+1)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false
	}
	trunc := n > max
	if trunc {
		n = max
		for n > 0 && !utf8.RuneStart(buf[n]) {
			n--
		}
	}
	return strings.ToValidUTF8(string(buf[:n]), "\uFFFD"), trunc
}

// cwd is the kernel's working directory.
func (k *kernel) cwd() string {
	if k == nil || k.p == nil {
		return ""
	}
	d, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", k.p.Pid))
	return d
}

// lookPath finds prog in env's PATH.
func lookPath(prog string, env []string) (string, error) {
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, prog)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed in this sandbox (not in PATH %s)", prog, path)
}

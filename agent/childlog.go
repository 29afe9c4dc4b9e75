package agent

import (
	"io"
	"os"
	"path/filepath"
	"sync"
)

// LogFileName is the file, beside the agent's socket, that keeps the image
// command's output for `codepod sandbox logs` (the container's own stdout
// and stderr get it too).
const LogFileName = "main.log"

// maxLogBytes caps the log file: past it, the file starts over.
const maxLogBytes = 16 << 20

// childLog tees the image command's output into the log file.
type childLog struct {
	mu   sync.Mutex
	f    *os.File
	size int64
}

func openChildLog(dir string) (*childLog, error) {
	f, err := os.OpenFile(filepath.Join(dir, LogFileName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &childLog{f: f, size: fi.Size()}, nil
}

// Write never fails: the log lives on a small tmpfs the tenant can fill,
// and a failed write must not stop the copy to the container's stdout (the
// image command would then die of SIGPIPE). A full file system starts the
// file over, once; a write that still fails is dropped.
func (l *childLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size+int64(len(b)) > maxLogBytes {
		l.restart()
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil && n == 0 {
		l.restart()
		n, _ = l.f.Write(b)
		l.size += int64(n)
	}
	return len(b), nil
}

func (l *childLog) restart() {
	if err := l.f.Truncate(0); err == nil {
		l.size = 0
	}
}

// tee returns a pipe whose reads go to both out and the log; the caller
// hands the write end to the child and closes it afterwards. The copy ends
// when the last process holding the write end exits (which may be a daemon
// outliving the child), so the agent does not wait for it.
func (l *childLog) tee(out *os.File) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		defer r.Close()
		io.Copy(io.MultiWriter(out, l), r)
	}()
	return w, nil
}

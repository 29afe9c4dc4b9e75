package agent

import (
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/gliderlabs/ssh"
)

// runPipes runs c without a terminal: stdin, stdout and stderr are pipes
// copied to and from the channel byte for byte, and the command leads its
// own process group so signals and hangups reach its children too.
func (a *Agent) runPipes(s ssh.Session, c command) result {
	var pipes [3][2]*os.File // stdin, stdout, stderr: [read end, write end]
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(pipes)
			return startFailed(c, err)
		}
		pipes[i] = [2]*os.File{r, w}
	}
	stdinR, stdinW := pipes[0][0], pipes[0][1]
	stdoutR, stdoutW := pipes[1][0], pipes[1][1]
	stderrR, stderrW := pipes[2][0], pipes[2][1]
	p, err := a.start(c, &os.ProcAttr{
		Dir: c.dir, Env: c.env,
		Files: []*os.File{stdinR, stdoutW, stderrW},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Credential: c.cred},
	})
	// The child has its copies; ours would keep the streams from ending.
	stdinR.Close()
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		closeAll(pipes)
		return startFailed(c, err)
	}
	defer closeAll(pipes)
	go func() {
		io.Copy(stdinW, s) // ends at the client's EOF or when the channel closes
		stdinW.Close()
	}()
	out := &drainer{f: stdoutR, grace: a.cfg.OutputGrace}
	errs := &drainer{f: stderrR, grace: a.cfg.OutputGrace}
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); out.copyTo(stdoutOf(s)) }()
	go func() { defer copying.Done(); errs.copyTo(s.Stderr()) }()
	hangup := waitProcess(s, p, func(sig syscall.Signal) { p.SignalGroup(sig) })
	out.finish()
	errs.finish()
	copying.Wait()
	return result{status: p.Status(), hangup: hangup}
}

func closeAll(pipes [3][2]*os.File) {
	for _, pair := range pipes {
		for _, f := range pair {
			if f != nil {
				f.Close()
			}
		}
	}
}

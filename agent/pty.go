package agent

import (
	"io"
	"os"
	"syscall"

	"github.com/creack/pty"
	"github.com/gliderlabs/ssh"
	"golang.org/x/sys/unix"
)

// runPTY runs c on a new pseudo-terminal as the leader of a new session
// with the terminal as its controlling tty, resizes it on window-change and
// copies its output raw (the terminal already turns "\n" into "\r\n").
func (a *Agent) runPTY(s ssh.Session, c command, win ssh.Window, winCh <-chan ssh.Window) result {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return startFailed(c, err)
	}
	defer ptmx.Close()
	setWinsize(ptmx, win)
	if c.cred != nil {
		os.Chown(tty.Name(), int(c.cred.Uid), int(c.cred.Gid))
	}
	p, err := a.start(c, &os.ProcAttr{
		Dir: c.dir, Env: c.env,
		Files: []*os.File{tty, tty, tty},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Credential: c.cred},
	})
	tty.Close()
	if err != nil {
		return startFailed(c, err)
	}
	go func() {
		for w := range winCh { // closed when the channel closes
			setWinsize(ptmx, w)
		}
	}()
	go io.Copy(ptmx, s) // keystrokes; a client's EOF does not end a terminal
	out := &drainer{f: ptmx, grace: a.cfg.OutputGrace}
	copied := make(chan struct{})
	go func() { defer close(copied); out.copyTo(stdoutOf(s)) }()
	hangup := waitProcess(s, p, func(sig syscall.Signal) { signalForeground(ptmx, p, sig) })
	out.finish()
	<-copied
	return result{status: p.Status(), hangup: hangup}
}

// setWinsize sets the terminal size. OpenSSH without a local terminal
// announces 0x0, which would confuse programs: it becomes 80x24.
func setWinsize(ptmx *os.File, w ssh.Window) {
	ws := unix.Winsize{Row: uint16(w.Height), Col: uint16(w.Width)}
	if ws.Row == 0 || ws.Col == 0 {
		ws = unix.Winsize{Row: 24, Col: 80}
	}
	// Through SyscallConn, not Fd(): Fd would put ptmx in blocking mode and
	// break the read deadline the drainer relies on.
	if rc, err := ptmx.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &ws) })
	}
}

// signalForeground sends sig to the terminal's foreground process group
// (the job the user is looking at), or to the shell's group if unknown.
func signalForeground(ptmx *os.File, p interface{ SignalGroup(syscall.Signal) error }, sig syscall.Signal) {
	pgrp := 0
	if rc, err := ptmx.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { pgrp, _ = unix.IoctlGetInt(int(fd), unix.TIOCGPGRP) })
	}
	if pgrp > 0 {
		syscall.Kill(-pgrp, sig)
		return
	}
	p.SignalGroup(sig)
}

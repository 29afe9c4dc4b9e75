package proc

import (
	"strconv"
	"syscall"
)

// signals maps RFC 4254 section 6.10 signal names (without "SIG") to
// signals, plus a few common extras.
var signals = map[string]syscall.Signal{
	"ABRT":  syscall.SIGABRT,
	"ALRM":  syscall.SIGALRM,
	"FPE":   syscall.SIGFPE,
	"HUP":   syscall.SIGHUP,
	"ILL":   syscall.SIGILL,
	"INT":   syscall.SIGINT,
	"KILL":  syscall.SIGKILL,
	"PIPE":  syscall.SIGPIPE,
	"QUIT":  syscall.SIGQUIT,
	"SEGV":  syscall.SIGSEGV,
	"TERM":  syscall.SIGTERM,
	"USR1":  syscall.SIGUSR1,
	"USR2":  syscall.SIGUSR2,
	"BUS":   syscall.SIGBUS,
	"CONT":  syscall.SIGCONT,
	"STOP":  syscall.SIGSTOP,
	"TSTP":  syscall.SIGTSTP,
	"WINCH": syscall.SIGWINCH,
	"XCPU":  syscall.SIGXCPU,
	"SYS":   syscall.SIGSYS,
	"TRAP":  syscall.SIGTRAP,
}

// ParseSignal returns the signal named name ("TERM", or "SIGTERM").
func ParseSignal(name string) (syscall.Signal, bool) {
	if len(name) > 3 && name[:3] == "SIG" {
		name = name[3:]
	}
	sig, ok := signals[name]
	return sig, ok
}

// SignalName is the RFC 4254 name of sig ("TERM"); signals without a name
// become "SIG<number>"-style names the client can still print.
func SignalName(sig syscall.Signal) string {
	for name, s := range signals {
		if s == sig {
			return name
		}
	}
	return "SIG" + strconv.Itoa(int(sig))
}

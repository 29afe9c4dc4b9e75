package gateway

import "strings"

// signalNumbers are the Linux numbers of the signals a session may be sent
// or report (RFC 4254 names, without "SIG"). Sandboxes are Linux whatever
// the server runs on, so the table is fixed rather than taken from syscall.
var signalNumbers = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13,
	"ALRM": 14, "TERM": 15, "CONT": 18, "STOP": 19, "TSTP": 20, "XCPU": 24,
	"WINCH": 28, "SYS": 31,
}

// ParseSignal normalizes a signal name ("TERM", "SIGTERM", "term") to its
// RFC 4254 form, and reports whether the agent knows it.
func ParseSignal(name string) (string, bool) {
	n := strings.TrimPrefix(strings.ToUpper(name), "SIG")
	_, ok := signalNumbers[n]
	return n, ok
}

// signalExitCode is the shell's exit code for a command killed by the
// named signal: 128+N (128 for a signal without a known number).
func signalExitCode(name string) int {
	return 128 + signalNumbers[name]
}

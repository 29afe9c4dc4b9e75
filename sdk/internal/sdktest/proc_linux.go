package sdktest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel stop the process when the test binary
// dies (a failing Example's log.Fatal skips every cleanup).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

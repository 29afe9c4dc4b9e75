// Command codepod is CodePod's one binary: the server, the runner, the
// all-in-one `up`, and the user commands (sandbox, config, api-key, …).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if isShell(os.Args[1:]) {
		sigs = sigs[1:] // the shell stops one command on Ctrl-C, not itself
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

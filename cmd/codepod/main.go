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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

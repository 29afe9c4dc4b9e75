// Command quickstart is the Go SDK's quickstart, as README.md shows it.
package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	c, err := codepod.NewClient() // CODEPOD_SERVER_URL and CODEPOD_API_KEY, else the CLI's config
	if err != nil {
		return err
	}
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{Image: "codepod/tiny:latest", Memory: "64m"})
	if err != nil {
		return err
	}
	defer sb.Close() // deletes the sandbox, whatever happens below
	res, err := sb.Exec(ctx, []string{"echo", "hello from", sb.Name()}, nil)
	if err != nil {
		return err
	}
	fmt.Println(strings.TrimSpace(res.Stdout), "- exit code", res.ExitCode)
	if err := sb.Files().Write(ctx, "notes/hello.txt", []byte("hi there\n")); err != nil {
		return err
	}
	data, err := sb.Files().Read(ctx, "notes/hello.txt")
	if err != nil {
		return err
	}
	fmt.Print(string(data))
	slow, err := sb.Exec(ctx, codepod.Shell("sleep 30"), &codepod.ExecOptions{Timeout: time.Second})
	if err != nil {
		return err
	}
	fmt.Println("timed out:", slow.TimedOut)
	return nil
}

package codepod_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

// The examples run against the server named by CODEPOD_SERVER_URL and
// CODEPOD_API_KEY (the tests start one).

func ExampleClient_CreateSandbox() {
	ctx := context.Background()
	c, err := codepod.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{
		Image:  "codepod/tiny:latest",
		Memory: "64m",
		Disk:   "1g",      // most it may write to its file system
		TTL:    time.Hour, // deleted by the server after an hour at the latest
		Labels: map[string]string{"example": "create"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close() // and by us when we are done
	fmt.Println(sb.Info().Status, sb.Info().Memory, sb.Info().Disk)
	// Output: running 64m 1g
}

func ExampleSandbox_Exec() {
	ctx := context.Background()
	c, _ := codepod.NewClient()
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{Image: "codepod/tiny:latest"})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()

	res, err := sb.Exec(ctx, codepod.Shell("echo $GREETING from $(pwd); exit 3"), &codepod.ExecOptions{
		Env: map[string]string{"GREETING": "hello"},
		Cwd: "/tmp",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(res.Stdout)
	fmt.Println("exit code", res.ExitCode)

	// A command that outlives its timeout is killed; that is a result,
	// not an error.
	slow, err := sb.Exec(ctx, []string{"sleep", "30"}, &codepod.ExecOptions{Timeout: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("timed out:", slow.TimedOut, slow.Signal, slow.ExitCode)
	// Output:
	// hello from /tmp
	// exit code 3
	// timed out: true KILL 137
}

func ExampleSandbox_ExecStream() {
	ctx := context.Background()
	c, _ := codepod.NewClient()
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{Image: "codepod/tiny:latest"})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()

	st, err := sb.ExecStream(ctx, codepod.Shell("for i in 1 2 3; do echo line $i; done; tr a-z A-Z"), &codepod.StreamOptions{
		Stdin:  strings.NewReader("and stdin too\n"),
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("exit code", st.ExitCode)
	// Output:
	// line 1
	// line 2
	// line 3
	// AND STDIN TOO
	// exit code 0
}

func ExampleFiles() {
	ctx := context.Background()
	c, _ := codepod.NewClient()
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{Image: "codepod/tiny:latest"})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()

	files := sb.Files()
	if err := files.Write(ctx, "/work/data.bin", []byte{0, 1, 2, 0xff}); err != nil {
		log.Fatal(err)
	}
	data, err := files.Read(ctx, "/work/data.bin")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", data)
	entries, err := files.List(ctx, "/work")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Name, e.Size, e.Type)
	}
	_, err = files.Read(ctx, "/work/missing")
	fmt.Println(errors.Is(err, codepod.ErrNotFound))
	// Output:
	// 00 01 02 ff
	// data.bin 4 file
	// true
}

func ExampleSandbox_SSH() {
	ctx := context.Background()
	c, _ := codepod.NewClient()
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{Image: "codepod/tiny:latest"})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()

	sc, err := sb.SSH(ctx) // token-authenticated, host key pinned
	if err != nil {
		log.Fatal(err)
	}
	defer sc.Close()
	session, err := sc.NewSession()
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()
	out, err := session.Output("echo over ssh as $(id -un)")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output: over ssh as root
}

func ExampleError() {
	ctx := context.Background()
	c, _ := codepod.NewClient()
	_, err := c.Sandbox(ctx, "no-such-sandbox")
	var e *codepod.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, codepod.ErrNotFound), e.Status, e.Title)
	}
	// Output: true 404 Not Found
}

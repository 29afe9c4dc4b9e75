// Package codepod is CodePod's Go SDK: disposable Linux sandboxes for
// programs and AI agents, reached over plain HTTP(S).
//
// A Client talks to one CodePod server. NewClient reads the server's URL
// and your API key from its options or from CODEPOD_SERVER_URL and
// CODEPOD_API_KEY, else from the CLI's config file (`codepod config set`;
// see ConfigPath). CODEPOD_CA_FILE adds a CA bundle; HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY are honoured:
//
//	c, err := codepod.NewClient()
//	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{Image: "codepod/tiny:latest"})
//	defer sb.Close() // deletes the sandbox, whatever happens
//	res, err := sb.Exec(ctx, []string{"echo", "hello"}, nil)
//	fmt.Print(res.Stdout) // hello
//
// CreateSandbox returns once the sandbox runs. A Sandbox runs commands
// (Exec, ExecStream), reads and writes its files (Files), and opens SSH
// connections for sessions, SFTP or port forwards (SSH).
//
// # Errors
//
// A request the server refuses returns an *Error that carries the RFC 9457
// problem document. Test it with errors.Is against ErrNotFound,
// ErrUnauthorized, ErrForbidden, ErrConflict, ErrInvalid, ErrTooLarge,
// ErrTimeout, ErrUnavailable or ErrInternal, or read it with errors.As.
//
// # What lies beneath
//
// The SDK wraps the client that oapi-codegen generates from the server's
// openapi.yaml (package github.com/codepod-dev/codepod/client), so the two
// never drift apart; Client.API gives it to you for the operations this
// package does not wrap (users, API keys, runners).
package codepod

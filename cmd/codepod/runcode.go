package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// newRunCodeCmd is `codepod sandbox run-code`: one cell in a persistent
// interpreter (docs/code.md).
func newRunCodeCmd() *cobra.Command {
	var (
		language, context string
		timeout           time.Duration
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "run-code ID|NAME CODE|-",
		Short: "Run code in a persistent python, javascript or bash context",
		Long: "Runs CODE (or standard input, with -) as one cell in a persistent interpreter of the sandbox: " +
			"variables survive between calls on the same context. Prints the cell's stdout, its stderr, and the text of " +
			"its results; an exception's traceback goes to stderr and the exit status is 1 (a bash cell's own exit status passes through).",
		Example: "  codepod sandbox run-code dev 'x = 41'\n  codepod sandbox run-code dev 'x + 1'\n" +
			"  echo 'console.log(process.version)' | codepod sandbox run-code dev --language javascript -",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			code := args[1]
			if code == "-" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				code = string(b)
			}
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			req := client.CodeRunRequest{Code: code}
			if context != "" {
				req.Context = &context
			}
			if language != "" || context == "" {
				l := client.CodeRunRequestLanguage(language)
				if language == "" {
					l = "python"
				}
				req.Language = &l
			}
			if timeout > 0 {
				secs := int64((timeout + time.Second - 1) / time.Second)
				req.TimeoutSeconds = &secs
			}
			r, err := c.RunCodeWithResponse(cmd.Context(), args[0], req)
			if err := c.check(err, r); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), r.JSON200)
			}
			return printCodeResult(cmd, r.JSON200)
		},
	}
	cmd.Flags().StringVarP(&language, "language", "l", "", "python (default without --context), javascript or bash")
	cmd.Flags().StringVar(&context, "context", "", "a context's id; default: the sandbox's default context for the language")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "interrupt the cell after this long (default 60s; the context keeps its state)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole result as JSON")
	return cmd
}

// printCodeResult prints a cell's output and results and turns its error
// or exit status into the CLI's.
func printCodeResult(cmd *cobra.Command, r *client.CodeRunResult) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	io.WriteString(out, r.Stdout)
	io.WriteString(errOut, r.Stderr)
	if r.Results != nil {
		for _, res := range *r.Results {
			if t, ok := res["text/plain"]; ok {
				fmt.Fprintln(out, t)
			}
		}
	}
	if r.Restarted {
		fmt.Fprintln(errOut, "codepod: the interpreter was restarted; the context's state is lost")
	}
	if e := r.Error; e != nil {
		if e.Traceback != nil && len(*e.Traceback) > 0 {
			tb := strings.Join(*e.Traceback, "")
			if !strings.Contains(tb, "\n") {
				tb = strings.Join(*e.Traceback, "\n")
			}
			fmt.Fprintln(errOut, strings.TrimRight(tb, "\n"))
		} else {
			fmt.Fprintf(errOut, "%s: %s\n", e.Name, e.Value)
		}
		return exitError{1}
	}
	if r.ExitCode != nil && *r.ExitCode != 0 {
		return exitError{int(*r.ExitCode)}
	}
	return nil
}

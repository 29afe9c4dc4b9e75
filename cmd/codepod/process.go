package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/client"
)

// processCommands are ps, attach and kill: the sandbox's background
// processes (started with `sandbox exec --background`).
func processCommands() []*cobra.Command {
	return []*cobra.Command{newPsCmd(), newAttachCmd(), newKillCmd()}
}

// startBackground starts argv as a background process and prints its pid.
func startBackground(cmd *cobra.Command, ref string, argv []string, o execOptions) error {
	c, err := newAPIClient(true)
	if err != nil {
		return err
	}
	env, err := parseKV(o.env, "--env")
	if err != nil {
		return err
	}
	req := client.StartProcessRequest{Command: &argv}
	if len(env) > 0 {
		req.Env = &env
	}
	setIf(&req.Cwd, o.workdir)
	r, err := c.StartProcessWithResponse(cmd.Context(), ref, req)
	if err := c.check(err, r); err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), r.JSON201.Pid)
	return err
}

func newPsCmd() *cobra.Command {
	out := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "ps ID|NAME",
		Short: "List a sandbox's background processes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.ListProcessesWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			if ok, err := out.write(cmd.OutOrStdout(), r.JSON200.Items); ok {
				return err
			}
			rows := [][]string{}
			for _, p := range r.JSON200.Items {
				rows = append(rows, []string{strconv.FormatInt(p.Pid, 10), processStatus(p), age(p.StartedAt), strings.Join(p.Command, " ")})
			}
			return table(cmd.OutOrStdout(), []string{"PID", "STATUS", "STARTED", "COMMAND"}, rows)
		},
	}
	cmd.Flags().VarP(&out, "output", "o", "output format: table, json or yaml")
	return cmd
}

// processStatus is "running", "exited 0" or "killed TERM".
func processStatus(p client.Process) string {
	switch {
	case p.Status == client.ProcessStatusRunning:
		return "running"
	case p.Signal != nil && *p.Signal != "":
		return "killed " + *p.Signal
	case p.ExitCode != nil:
		return fmt.Sprintf("exited %d", *p.ExitCode)
	}
	return string(p.Status)
}

func newKillCmd() *cobra.Command {
	var sig string
	cmd := &cobra.Command{
		Use:   "kill ID|NAME PID",
		Short: "Kill a background process (SIGKILL), or send it --signal",
		Example: `  codepod sandbox kill demo 42
  codepod sandbox kill demo 42 --signal TERM`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			pid, err := parsePID(args[1])
			if err != nil {
				return err
			}
			if sig != "" && strings.TrimPrefix(strings.ToUpper(sig), "SIG") != "KILL" {
				r, err := c.SignalProcessWithResponse(cmd.Context(), args[0], pid, client.SignalProcessJSONRequestBody{Signal: sig})
				return c.check(err, r)
			}
			r, err := c.KillProcessWithResponse(cmd.Context(), args[0], pid)
			return c.check(err, r)
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "", "send this signal (TERM, INT, HUP, USR1, ...) instead of KILL")
	return cmd
}

func parsePID(s string) (int64, error) {
	pid, err := strconv.ParseInt(s, 10, 64)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("PID %q must be a process id as `codepod sandbox ps` shows it", s)
	}
	return pid, nil
}

func newAttachCmd() *cobra.Command {
	var from int64
	var noStdin bool
	cmd := &cobra.Command{
		Use:   "attach ID|NAME PID",
		Short: "Stream a background process's output and forward stdin; Ctrl-C detaches without killing it",
		Long: "attach prints the process's stdout and stderr from the start of what the sandbox keeps (the last 1 MiB of each), " +
			"or from --from, then live, and forwards this terminal's stdin to the process. It returns when the process exits, " +
			"with its exit code. Ctrl-C (or closing stdin with --no-stdin) detaches: the process keeps running; use kill to end it.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := parsePID(args[1])
			if err != nil {
				return err
			}
			return attach(cmd, args[0], pid, from, !noStdin)
		},
	}
	cmd.Flags().Int64Var(&from, "from", 0, "stream offset to start at (0: the start; -1: only new output)")
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not forward stdin")
	return cmd
}

// attachMsg is a message of the process stream.
type attachMsg struct {
	Type    string          `json:"type"`
	Data    []byte          `json:"data,omitempty"`
	Dropped int64           `json:"dropped,omitempty"`
	Process *client.Process `json:"process,omitempty"`
	Status  int             `json:"status,omitempty"`
	Detail  string          `json:"detail,omitempty"`
}

func attach(cmd *cobra.Command, ref string, pid, from int64, stdin bool) error {
	c, err := newAPIClient(true)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	u := strings.TrimSuffix(c.ServerURL, "/")
	u = "ws" + strings.TrimPrefix(u, "http") + fmt.Sprintf("/api/v1/sandboxes/%s/processes/%d/stream?stdout_offset=%d&stderr_offset=%d", ref, pid, from, from)
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.HTTP,
		HTTPHeader: c.headers()})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(resp.Body)
			return problemError(resp.StatusCode, body)
		}
		return fmt.Errorf("cannot reach the CodePod server at %s: %w", c.ServerURL, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	if stdin {
		go forwardStdin(ctx, conn, cmd.InOrStdin())
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "detached; process %d keeps running (codepod sandbox kill %s %d ends it)\n", pid, ref, pid)
				return nil
			}
			return fmt.Errorf("the process stream ended: %w", err)
		}
		var m attachMsg
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		if m.Dropped > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "[%d bytes of %s were no longer kept]\n", m.Dropped, m.Type)
		}
		switch m.Type {
		case "stdout":
			cmd.OutOrStdout().Write(m.Data)
		case "stderr":
			cmd.ErrOrStderr().Write(m.Data)
		case "error":
			return problemError(m.Status, b)
		case "exit":
			conn.Close(websocket.StatusNormalClosure, "")
			if m.Process != nil && m.Process.ExitCode != nil && *m.Process.ExitCode != 0 {
				return exitError{code: int(*m.Process.ExitCode)}
			}
			return nil
		}
	}
}

// forwardStdin sends r to the process; at its end, the process's stdin is
// closed.
func forwardStdin(ctx context.Context, conn *websocket.Conn, r io.Reader) {
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			b, _ := json.Marshal(attachMsg{Type: "stdin", Data: buf[:n]})
			if conn.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
		}
		if err != nil {
			b, _ := json.Marshal(attachMsg{Type: "stdin_close"})
			conn.Write(ctx, websocket.MessageText, b)
			return
		}
	}
}

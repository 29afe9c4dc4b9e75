package mcpserver

import (
	"context"
	"errors"
	"net/http"
)

type execIn struct {
	Sandbox        string            `json:"sandbox" jsonschema:"the sandbox's id or name"`
	Command        string            `json:"command,omitempty" jsonschema:"a shell script, run with sh -c (pipes, globs, $VARS)"`
	Argv           []string          `json:"argv,omitempty" jsonschema:"a program and its arguments, run without a shell; give command or argv"`
	Cwd            string            `json:"cwd,omitempty" jsonschema:"working directory (default: the home)"`
	Env            map[string]string `json:"env,omitempty" jsonschema:"extra environment variables"`
	Stdin          string            `json:"stdin,omitempty" jsonschema:"standard input, as text"`
	TimeoutSeconds int64             `json:"timeout_seconds,omitempty" jsonschema:"kill the command after this many seconds (default 60, at most 3600)"`
	MaxOutputBytes int64             `json:"max_output_bytes,omitempty" jsonschema:"most bytes kept of each of stdout and stderr (default 256 KiB, at most the server's limit, 4 MiB by default)"`
}

// execOut is how the command ended and what it wrote. Output that is not
// UTF-8 is base64 (the *_encoding fields say so).
type execOut struct {
	ExitCode        int64  `json:"exit_code" jsonschema:"the exit status; 128+N when killed by signal N"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutEncoding  string `json:"stdout_encoding,omitempty" jsonschema:"base64 when stdout is not UTF-8 text"`
	StderrEncoding  string `json:"stderr_encoding,omitempty"`
	StdoutTruncated bool   `json:"stdout_truncated,omitempty"`
	StderrTruncated bool   `json:"stderr_truncated,omitempty"`
	TimedOut        bool   `json:"timed_out,omitempty"`
	Signal          string `json:"signal,omitempty"`
	DurationMs      int64  `json:"duration_ms"`
}

func (h *Handler) exec(ctx context.Context, who caller, in execIn) (execOut, error) {
	if (in.Command == "") == (len(in.Argv) == 0) {
		return execOut{}, errors.New("give command (a shell script) or argv (a program and its arguments), not both")
	}
	body := map[string]any{}
	if in.Command != "" {
		body["shell"] = in.Command
	} else {
		body["command"] = in.Argv
	}
	if in.Cwd != "" {
		body["cwd"] = in.Cwd
	}
	if len(in.Env) > 0 {
		body["env"] = in.Env
	}
	if in.Stdin != "" {
		body["stdin"] = in.Stdin
	}
	if in.TimeoutSeconds > 0 {
		body["timeout_seconds"] = in.TimeoutSeconds
	}
	body["max_output_bytes"] = h.cfg.ExecOutputBytes
	if in.MaxOutputBytes > 0 {
		body["max_output_bytes"] = in.MaxOutputBytes
	}
	var out execOut
	err := h.doJSON(ctx, who, restCall{Method: http.MethodPost, Path: sandboxPath(in.Sandbox, "/exec"), JSON: body}, &out)
	if out.StdoutEncoding == "utf-8" {
		out.StdoutEncoding = ""
	}
	if out.StderrEncoding == "utf-8" {
		out.StderrEncoding = ""
	}
	return out, err
}

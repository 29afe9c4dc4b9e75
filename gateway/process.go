package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/codepod-dev/codepod"
	"golang.org/x/crypto/ssh"
)

// Background processes live in the agent (agent/procs.go) and are reached
// through its codepod-process subsystem: one session channel per request,
// a JSON line from us, JSON lines back (docs/agent.md, "Processes"). The
// types below mirror the agent's; the gateway does not import the agent.

// ProcessSubsystem is the agent's subsystem name.
const ProcessSubsystem = "codepod-process"

// Process is a background process as the agent reports it.
type Process struct {
	PID         int       `json:"pid"`
	Command     []string  `json:"command"`
	Cwd         string    `json:"cwd"`
	User        string    `json:"user"`
	StartedAt   time.Time `json:"started_at"`
	Status      string    `json:"status"`
	ExitCode    *int      `json:"exit_code,omitempty"`
	Signal      string    `json:"signal,omitempty"`
	ExitedAt    time.Time `json:"exited_at,omitzero"`
	StdinOpen   bool      `json:"stdin_open"`
	StdoutStart int64     `json:"stdout_start"`
	StdoutEnd   int64     `json:"stdout_end"`
	StderrStart int64     `json:"stderr_start"`
	StderrEnd   int64     `json:"stderr_end"`
}

// ProcessChunk is output of one stream from Offset; Dropped bytes before
// it fell out of the agent's ring; End is the stream's length so far; EOF
// marks the stream's end.
type ProcessChunk struct {
	Stream  string `json:"stream"`
	Offset  int64  `json:"offset"`
	Dropped int64  `json:"dropped,omitempty"`
	Data    []byte `json:"data"`
	End     int64  `json:"end"`
	EOF     bool   `json:"eof,omitempty"`
}

// ProcessRequest is one request to the agent.
type ProcessRequest struct {
	Op           string            `json:"op"`
	PID          int               `json:"pid,omitempty"`
	Command      []string          `json:"command,omitempty"`
	Env          map[string]string `json:"env,omitempty"`
	Cwd          string            `json:"cwd,omitempty"`
	Stream       string            `json:"stream,omitempty"`
	Offset       int64             `json:"offset,omitempty"`
	Limit        int               `json:"limit,omitempty"`
	StdoutOffset int64             `json:"stdout_offset,omitempty"`
	StderrOffset int64             `json:"stderr_offset,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	Close        bool              `json:"close,omitempty"`
	Signal       string            `json:"signal,omitempty"`
	TimeoutMS    int64             `json:"timeout_ms,omitempty"`
}

// ProcessReply is one line of the agent's answer.
type ProcessReply struct {
	Process   *Process      `json:"process,omitempty"`
	Processes []Process     `json:"processes,omitempty"`
	Chunk     *ProcessChunk `json:"chunk,omitempty"`
	Error     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// ProcessCall sends req and returns the agent's one-line answer. Agent
// errors become *codepod.Error values: ENOTFOUND for an unknown pid,
// EINVALID for a bad request or a command that cannot start, ECONFLICT
// for stdin that is closed or full and for too many processes.
func ProcessCall(ctx context.Context, c *ssh.Client, req ProcessRequest) (*ProcessReply, error) {
	var out *ProcessReply
	err := ProcessFollow(ctx, c, req, func(r *ProcessReply) error { out = r; return nil })
	if err == nil && out == nil {
		err = sessionError("read the agent's answer", io.ErrUnexpectedEOF)
	}
	return out, err
}

// ProcessFollow sends req and hands each answer line to fn until the agent
// ends the answer, fn fails, or ctx ends (which closes the channel: the
// agent stops following; the process runs on).
func ProcessFollow(ctx context.Context, c *ssh.Client, req ProcessRequest, fn func(*ProcessReply) error) error {
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return channelError(err)
	}
	defer ch.Close()
	go ssh.DiscardRequests(reqs)
	ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(&struct{ Name string }{ProcessSubsystem}))
	if err != nil {
		return sessionError("open the process subsystem", err)
	}
	if !ok {
		return codepod.Errorf(codepod.EUNAVAILABLE, "this sandbox's agent has no process manager; recreate the sandbox to get a newer agent")
	}
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := ch.Write(append(line, '\n')); err != nil {
		return sessionError("send the process request", err)
	}
	stop := context.AfterFunc(ctx, func() { ch.Close() })
	defer stop()
	rd := bufio.NewReaderSize(ch, 64<<10)
	for {
		b, err := rd.ReadBytes('\n')
		if len(b) > 0 {
			var r ProcessReply
			if jerr := json.Unmarshal(b, &r); jerr != nil {
				return fmt.Errorf("process reply: %w", jerr)
			}
			if r.Error != nil {
				return agentProcessError(r.Error.Code, r.Error.Message)
			}
			if ferr := fn(&r); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return sessionError("read the agent's answer", err)
		}
	}
}

func agentProcessError(code, msg string) error {
	switch code {
	case "not_found":
		return codepod.Errorf(codepod.ENOTFOUND, "%s", msg)
	case "invalid", "cannot_start":
		return codepod.Errorf(codepod.EINVALID, "%s", msg)
	case "too_many", "stdin_closed", "stdin_full":
		return codepod.Errorf(codepod.ECONFLICT, "%s", msg)
	}
	return fmt.Errorf("agent: %s: %s", code, msg)
}

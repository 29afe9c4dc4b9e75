package kernel

import "time"

// Languages the kernels speak.
const (
	Python     = "python"
	JavaScript = "javascript"
	Bash       = "bash"
)

// Limits, documented in docs/code.md.
const (
	// MaxContexts is how many contexts a sandbox holds at once.
	MaxContexts = 16
	// DefaultMaxOutput is how many bytes of stdout and of stderr a cell's
	// reply keeps by default; MaxOutput is the most a request may ask.
	DefaultMaxOutput = 1 << 20
	MaxOutput        = 4 << 20
	// MaxCode bounds a cell's source.
	MaxCode = 1 << 20
	// DefaultTimeout and MaxTimeout bound a cell's run time.
	DefaultTimeout = 60 * time.Second
	MaxTimeout     = time.Hour
	// InterruptGrace is how long an interrupted cell has to answer before
	// its kernel is killed (the context then restarts empty).
	InterruptGrace = 5 * time.Second
	// MaxResults bounds the rich results of one cell.
	MaxResults = 64
)

// Subsystem is the SSH subsystem name the agent serves code contexts on.
const Subsystem = "codepod-code"

// Request is one line from the client of the subsystem. Op is create,
// list, delete, restart or run.
type Request struct {
	Op       string `json:"op"`
	Context  string `json:"context,omitempty"`
	Language string `json:"language,omitempty"`
	Code     string `json:"code,omitempty"`
	// TimeoutMS: 0 is DefaultTimeout.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// MaxOutputBytes: 0 is DefaultMaxOutput.
	MaxOutputBytes int `json:"max_output_bytes,omitempty"`
}

// Reply is the agent's one-line answer.
type Reply struct {
	Error    *ReplyError `json:"error,omitempty"`
	Context  *Info       `json:"context,omitempty"`
	Contexts []Info      `json:"contexts,omitempty"`
	Result   *Result     `json:"result,omitempty"`
}

// ReplyError is a request that failed; Code is one of codepod's error codes
// (invalid, not_found, conflict, unavailable, internal).
type ReplyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Info describes a context.
type Info struct {
	ID             string    `json:"id"`
	Language       string    `json:"language"`
	Cwd            string    `json:"cwd"`
	Created        time.Time `json:"created"`
	LastUsed       time.Time `json:"last_used"`
	ExecutionCount int       `json:"execution_count"`
}

// Result is what a cell did.
type Result struct {
	Context         string `json:"context"`
	ExecutionCount  int    `json:"execution_count"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdout_truncated,omitempty"`
	StderrTruncated bool   `json:"stderr_truncated,omitempty"`
	// Results are the cell's rich results (display_data, then the value
	// of the last expression), each a MIME type → data map.
	Results []map[string]string `json:"results"`
	Error   *CellError          `json:"error,omitempty"`
	// ExitCode is the exit status of a bash cell.
	ExitCode *int `json:"exit_code,omitempty"`
	// Interrupted: the timeout interrupted the cell.
	Interrupted bool `json:"interrupted,omitempty"`
	// Restarted: the kernel died (or ignored the interrupt and was
	// killed); the context was started again, empty.
	Restarted  bool  `json:"restarted,omitempty"`
	DurationMS int64 `json:"duration_ms"`
}

// CellError is an exception the cell raised.
type CellError struct {
	Name      string   `json:"name"`
	Value     string   `json:"value"`
	Traceback []string `json:"traceback"`
}

// message is a line from a driver (Jupyter's names).
type message struct {
	Type      string            `json:"msg_type"`
	Status    string            `json:"status"`
	Data      map[string]string `json:"data"`
	Ename     string            `json:"ename"`
	Evalue    string            `json:"evalue"`
	Traceback []string          `json:"traceback"`
	ExitCode  *int              `json:"exit_code"`
}

package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Devcontainer is the agent's part of a sandbox's devcontainer settings:
// the JSON of codepod.DevcontainerSpec (the runner writes it to
// <EtcDir>/devcontainer.json), read here with the agent's own types so the
// agent imports nothing of the server. Other properties are ignored.
type Devcontainer struct {
	OnCreateCommand      *Command          `json:"onCreateCommand,omitempty"`
	UpdateContentCommand *Command          `json:"updateContentCommand,omitempty"`
	PostCreateCommand    *Command          `json:"postCreateCommand,omitempty"`
	PostStartCommand     *Command          `json:"postStartCommand,omitempty"`
	PostAttachCommand    *Command          `json:"postAttachCommand,omitempty"`
	RemoteUser           string            `json:"remoteUser,omitempty"`
	ContainerUser        string            `json:"containerUser,omitempty"`
	RemoteEnv            map[string]string `json:"remoteEnv,omitempty"`
	WorkspaceFolder      string            `json:"workspaceFolder,omitempty"`
	// WaitFor names the hook after which the sandbox is ready (reachable,
	// `create --wait` returns) while later hooks go on in the background;
	// empty: updateContentCommand, as the spec says.
	WaitFor string `json:"waitFor,omitempty"`
	// ShutdownAction stopContainer: when the last terminal session
	// closes, the agent asks the runner (LifecycleStatus.Shutdown) to stop
	// the sandbox. none or empty: it keeps running.
	ShutdownAction string `json:"shutdownAction,omitempty"`
}

// hookOrder is each create/start hook's place in the spec's order.
var hookOrder = map[string]int{"onCreateCommand": 1, "updateContentCommand": 2, "postCreateCommand": 3, "postStartCommand": 4}

// waitForOrder is the place of the hook the sandbox is ready after.
func (d *Devcontainer) waitForOrder() int {
	if n, ok := hookOrder[d.WaitFor]; ok {
		return n
	}
	return hookOrder["updateContentCommand"]
}

// Command is a lifecycle command: Shell (run by /bin/sh -c), Args (run
// directly) or Parallel (named Shell or Args commands run at once).
type Command struct {
	Shell    string
	Args     []string
	Parallel map[string]Command
}

// UnmarshalJSON reads a string, an array of strings or an object.
func (c *Command) UnmarshalJSON(b []byte) error {
	*c = Command{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty command")
	}
	switch b[0] {
	case '"':
		return json.Unmarshal(b, &c.Shell)
	case '[':
		if err := json.Unmarshal(b, &c.Args); err != nil || len(c.Args) == 0 {
			return fmt.Errorf("a command array holds the program and its arguments, as strings")
		}
		return nil
	case '{':
		c.Parallel = map[string]Command{}
		return json.Unmarshal(b, &c.Parallel)
	}
	return fmt.Errorf("a command is a string, an array of strings or an object of commands")
}

// MarshalJSON writes the command's form, without escaping <, > and &.
func (c Command) MarshalJSON() ([]byte, error) {
	var v any = c.Shell
	switch {
	case c.Parallel != nil:
		v = c.Parallel
	case c.Args != nil:
		v = c.Args
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// String is the command as written, for logs and reasons.
func (c Command) String() string {
	b, _ := c.MarshalJSON()
	return string(b)
}

// Argv is ["/bin/sh","-c",Shell] or Args.
func (c Command) Argv() []string {
	if c.Args != nil {
		return c.Args
	}
	return []string{"/bin/sh", "-c", c.Shell}
}

// Names are the Parallel entries' names, sorted.
func (c Command) Names() []string {
	out := make([]string, 0, len(c.Parallel))
	for k := range c.Parallel {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hook is one named lifecycle command.
type hook struct {
	name string
	cmd  *Command
}

// createHooks run once, after the first start, in the spec's order.
func (d *Devcontainer) createHooks() []hook {
	return []hook{
		{"onCreateCommand", d.OnCreateCommand},
		{"updateContentCommand", d.UpdateContentCommand},
		{"postCreateCommand", d.PostCreateCommand},
	}
}

// startHooks run on every start, after createHooks.
func (d *Devcontainer) startHooks() []hook {
	return []hook{{"postStartCommand", d.PostStartCommand}}
}

func (d *Devcontainer) waitForName() string {
	if _, ok := hookOrder[d.WaitFor]; ok {
		return d.WaitFor
	}
	return "updateContentCommand"
}

package devcontainer

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Command is a lifecycle command (onCreateCommand, postCreateCommand, …,
// initializeCommand) in any of the spec's three forms:
//
//	"make deps"                          Shell: run by /bin/sh -c
//	["make", "deps"]                     Args: run directly, no shell
//	{"a": "make deps", "b": ["npm","ci"]} Parallel: each entry runs at the same time
//
// Exactly one of Shell, Args and Parallel is set. Parallel entries are
// themselves Shell or Args commands.
type Command struct {
	Shell    string
	Args     []string
	Parallel map[string]Command
}

// UnmarshalJSON reads any of the three forms.
func (c *Command) UnmarshalJSON(b []byte) error {
	*c = Command{}
	switch kind(b) {
	case "a string":
		return json.Unmarshal(b, &c.Shell)
	case "an array":
		if err := json.Unmarshal(b, &c.Args); err != nil {
			return fmt.Errorf("a command array holds strings only")
		}
		if len(c.Args) == 0 {
			return fmt.Errorf("a command array needs at least the program")
		}
		return nil
	case "an object":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		c.Parallel = map[string]Command{}
		for name, raw := range m {
			var sub Command
			if err := sub.UnmarshalJSON(raw); err != nil {
				return fmt.Errorf("%q: %w", name, err)
			}
			if sub.Parallel != nil {
				return fmt.Errorf("%q: parallel commands do not nest: give a string or an array", name)
			}
			c.Parallel[name] = sub
		}
		return nil
	}
	return fmt.Errorf("want a string, an array of strings or an object of commands, got %s", kind(b))
}

// MarshalJSON writes the form the command was read in.
func (c Command) MarshalJSON() ([]byte, error) {
	switch {
	case c.Parallel != nil:
		return json.Marshal(c.Parallel)
	case c.Args != nil:
		return json.Marshal(c.Args)
	}
	return json.Marshal(c.Shell)
}

// Names returns the Parallel entries' names, sorted, so that callers log
// and run them in a stable order.
func (c Command) Names() []string {
	var out []string
	for k := range c.Parallel {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Argv is the program and arguments that run a Shell or Args command:
// ["/bin/sh", "-c", Shell] or Args. It is nil for a Parallel command.
func (c Command) Argv() []string {
	switch {
	case c.Parallel != nil:
		return nil
	case c.Args != nil:
		return c.Args
	}
	return []string{"/bin/sh", "-c", c.Shell}
}

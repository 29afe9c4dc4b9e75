package main

import "github.com/spf13/cobra"

// sandboxSessionCommands are the commands that reach into a running
// sandbox: exec, ssh, cp, port-forward, logs.
func sandboxSessionCommands() []*cobra.Command { return nil }

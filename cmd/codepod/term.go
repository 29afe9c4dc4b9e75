package main

import (
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether the reader or writer is an interactive terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

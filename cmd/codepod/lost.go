package main

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// ExitConnectionLost is the CLI's exit code when the connection to the
// server (or the sandbox behind it) dies during an exec or ssh session, so
// the remote command's exit status never came. It is not 255, which ssh
// uses and which a remote command may return; like docker's 125 it means
// "the tool failed, not your command".
const ExitConnectionLost = 125

// lostError is a session that ended without an exit status.
type lostError struct {
	ref string
	err error
}

func (e lostError) Error() string {
	return fmt.Sprintf("the connection to sandbox %s was lost before its command finished (%v): "+
		"the server, the network or the sandbox went away; the command may still be running there. "+
		"Check with `codepod sandbox get %s` and run it again (exit code %d)", e.ref, e.err, e.ref, ExitConnectionLost)
}

// connectionLost turns a session's Wait error into a lostError unless the
// command's exit status came (nil or *ssh.ExitError): an
// *ssh.ExitMissingError or a broken transport means the session died.
func connectionLost(ref string, err error) error {
	var exit *ssh.ExitError
	if err == nil || errors.As(err, &exit) {
		return nil
	}
	return lostError{ref: ref, err: err}
}

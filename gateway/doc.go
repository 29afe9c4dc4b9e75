// Package gateway is how the server reaches the agents inside sandboxes.
//
// Every path to an agent is an SSH connection carried by a tunnel: the
// server asks the sandbox's runner to dial back (a tunnel job), the Broker
// pairs the runner's WebSocket with the request that waits for it, and the
// Pool keeps one authenticated SSH connection per sandbox on top of such a
// tunnel, so a REST call costs an SSH channel, not a handshake.
//
// On a pooled *ssh.Client the package offers the operations of the exec,
// files and PTY API: Exec and ExecStream (one session per command), the
// file functions over SFTP (ReadFile, WriteFile, List, Mkdir, Remove,
// TarDir, UntarDir) and Shell for the browser terminal.
//
// Errors meant for users are *codepod.Error values (ENOTFOUND for a missing
// path, EFORBIDDEN, EINVALID, EUNAVAILABLE when the agent cannot be reached,
// ETIMEOUT when the runner does not answer); anything else is internal.
//
// The package imports the root domain package only; it knows nothing of
// HTTP routes, the store or the runner.
package gateway

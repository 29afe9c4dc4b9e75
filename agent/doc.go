// Package agent is codepod-agent, the small SSH server that runs as the
// entrypoint of every sandbox container.
//
// It serves SSH (gliderlabs/ssh) on a Unix socket in a host directory the
// runner bind-mounts into the container, and optionally on TCP. Clients
// authenticate with a short-lived sandbox token (package agent/token) as the
// password or with one of the owner's public keys. Sessions give exec with
// exact exit codes and signals, a PTY with a login shell, the sftp subsystem
// and direct-tcpip port forwarding. The image's own command, if any, runs as
// a supervised child, and the agent reaps orphaned processes as PID 1 must.
//
// The package imports nothing of the server and no Docker client: it is built
// into a static binary (cmd/codepod-agent) that works in any image. See
// docs/agent.md for flags, the mount layout and the security notes.
package agent

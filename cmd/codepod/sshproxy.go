package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod/internal/sandboxssh"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

func newSSHProxyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ssh-proxy ID|NAME",
		Short: "Connect standard input and output to a sandbox's SSH server (for OpenSSH's ProxyCommand)",
		Long: `Relay standard input and output to the sandbox's SSH server through the
server's tunnel (a WebSocket on the server's one port). Use it as OpenSSH's
ProxyCommand; ` + "`codepod ssh-config`" + ` writes the whole Host block:

  ssh -o ProxyCommand='codepod ssh-proxy %h' root@ID`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			r, err := c.GetSandboxWithResponse(cmd.Context(), args[0])
			if err := c.check(err, r); err != nil {
				return err
			}
			conn, err := sandboxssh.DialTunnel(cmd.Context(), sandboxssh.Target{
				ServerURL: c.ServerURL, APIKey: c.APIKey, Workspace: c.Workspace, HTTPClient: c.HTTP, SandboxID: r.JSON200.Id,
			})
			if err != nil {
				return fmt.Errorf("open tunnel to %s: %w", args[0], err)
			}
			return sshws.Splice(cmd.Context(), stdioConn{cmd.InOrStdin(), cmd.OutOrStdout()}, conn)
		},
	}
}

// stdioConn is standard input and output as a net.Conn.
type stdioConn struct {
	io.Reader
	io.Writer
}

func (s stdioConn) Close() error {
	if c, ok := s.Reader.(io.Closer); ok {
		c.Close()
	}
	return nil
}

// CloseWrite ends our output, which tells OpenSSH the stream ended.
func (s stdioConn) CloseWrite() error {
	if f, ok := s.Writer.(*os.File); ok {
		return f.Close()
	}
	return nil
}

func (stdioConn) LocalAddr() net.Addr              { return stdioAddr{} }
func (stdioConn) RemoteAddr() net.Addr             { return stdioAddr{} }
func (stdioConn) SetDeadline(time.Time) error      { return nil }
func (stdioConn) SetReadDeadline(time.Time) error  { return nil }
func (stdioConn) SetWriteDeadline(time.Time) error { return nil }

type stdioAddr struct{}

func (stdioAddr) Network() string { return "stdio" }
func (stdioAddr) String() string  { return "stdio" }

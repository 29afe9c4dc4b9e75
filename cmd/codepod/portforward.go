package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

func newPortForwardCmd() *cobra.Command {
	var address string
	cmd := &cobra.Command{
		Use:   "port-forward ID|NAME [LOCAL:REMOTE]",
		Short: "Forward a local port to a port inside a sandbox (without a port: its devcontainer's forwardPorts)",
		Example: `  codepod sandbox port-forward demo 8080:80   # then open http://localhost:8080
  codepod sandbox port-forward dev            # every forwardPorts entry of its devcontainer.json, with its label`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var fwds []forward
			if len(args) == 2 {
				local, remote, err := parsePorts(args[1])
				if err != nil {
					return err
				}
				fwds = []forward{{local: local, host: "127.0.0.1", remote: remote}}
			} else {
				var err error
				if fwds, err = devcontainerForwards(cmd, args[0]); err != nil {
					return err
				}
			}
			sc, err := dialSandbox(cmd, args[0])
			if err != nil {
				return err
			}
			defer sc.Close()
			var lns []net.Listener
			defer func() {
				for _, ln := range lns {
					ln.Close()
				}
			}()
			for _, f := range fwds {
				ln, err := f.listen(address, len(args) == 1)
				if err != nil {
					return err
				}
				lns = append(lns, ln)
				label := ""
				if f.label != "" {
					label = " (" + f.label + ")"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Forwarding %s -> %s:%s%s\n", ln.Addr(), args[0], f.target(), label)
			}
			go func() { <-cmd.Context().Done(); closeAll(lns) }()
			errs := make(chan error, len(lns))
			var wg sync.WaitGroup
			defer wg.Wait()
			for i, ln := range lns {
				go func() { errs <- serveForward(cmd, sc, ln, fwds[i], &wg) }()
			}
			err = <-errs
			closeAll(lns)
			return err
		},
	}
	cmd.Flags().StringVar(&address, "address", "127.0.0.1", "local address to listen on")
	return cmd
}

// forward is one local listener and where it leads in the sandbox.
type forward struct {
	local, host, remote, label string
}

func (f forward) target() string {
	if f.host == "127.0.0.1" {
		return f.remote
	}
	return net.JoinHostPort(f.host, f.remote)
}

// listen listens on the local port; with anyPort, a port in use falls back
// to one the system picks (printed by the caller).
func (f forward) listen(address string, anyPort bool) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(address, f.local))
	if err != nil && anyPort {
		ln, err = net.Listen("tcp", net.JoinHostPort(address, "0"))
	}
	return ln, err
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// serveForward accepts on ln until it closes and splices each connection
// to f's target through the sandbox's SSH connection.
func serveForward(cmd *cobra.Command, sc *ssh.Client, ln net.Listener, f forward, wg *sync.WaitGroup) error {
	for {
		lc, err := ln.Accept()
		if err != nil {
			if cmd.Context().Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer lc.Close()
			rc, err := sc.Dial("tcp", net.JoinHostPort(f.host, f.remote))
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "connect to %s in the sandbox: %v\n", f.target(), err)
				return
			}
			defer rc.Close()
			sshws.Splice(cmd.Context(), lc, rc)
		}()
	}
}

// devcontainerForwards are the forwardPorts of the sandbox's devcontainer,
// with their portsAttributes labels.
func devcontainerForwards(cmd *cobra.Command, ref string) ([]forward, error) {
	c, err := newAPIClient(true)
	if err != nil {
		return nil, err
	}
	r, err := c.GetSandboxWithResponse(cmd.Context(), ref)
	if err := c.check(err, r); err != nil {
		return nil, err
	}
	ports, attrs := sandboxPorts(r.JSON200)
	if len(ports) == 0 {
		return nil, fmt.Errorf("sandbox %s has no forwardPorts (it was not made from a devcontainer.json that lists some): give LOCAL:REMOTE", ref)
	}
	var out []forward
	for _, p := range ports {
		f := forward{host: "127.0.0.1", remote: p, label: attrs[p].Label}
		if h, port, ok := strings.Cut(p, ":"); ok {
			f.host, f.remote = h, port
		}
		f.local = f.remote
		out = append(out, f)
	}
	return out, nil
}

func parsePorts(s string) (local, remote string, err error) {
	l, r, ok := strings.Cut(s, ":")
	if !ok {
		l, r = s, s
	}
	for _, p := range []string{l, r} {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
			return "", "", fmt.Errorf("ports %q: use LOCAL:REMOTE, e.g. 8080:80", s)
		}
	}
	return l, r, nil
}

package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

func newPortForwardCmd() *cobra.Command {
	var address string
	cmd := &cobra.Command{
		Use:     "port-forward ID|NAME LOCAL:REMOTE",
		Short:   "Forward a local port to a port inside a sandbox",
		Example: "  codepod sandbox port-forward demo 8080:80   # then open http://localhost:8080",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			local, remote, err := parsePorts(args[1])
			if err != nil {
				return err
			}
			sc, err := dialSandbox(cmd, args[0])
			if err != nil {
				return err
			}
			defer sc.Close()
			ln, err := net.Listen("tcp", net.JoinHostPort(address, local))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Forwarding %s -> %s:%s\n", ln.Addr(), args[0], remote)
			go func() { <-cmd.Context().Done(); ln.Close() }()
			var wg sync.WaitGroup
			defer wg.Wait()
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
					rc, err := sc.Dial("tcp", net.JoinHostPort("127.0.0.1", remote))
					if err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "connect to port %s in the sandbox: %v\n", remote, err)
						return
					}
					defer rc.Close()
					sshws.Splice(cmd.Context(), lc, rc)
				}()
			}
		},
	}
	cmd.Flags().StringVar(&address, "address", "127.0.0.1", "local address to listen on")
	return cmd
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

package main

import (
	"fmt"
	"io"
	"net"
	"time"
)

// relay connects to addr (the agent's own listener on the sandbox's
// loopback) and copies the connection to out and in to the connection,
// until the connection ends. The runner runs it with docker exec when it
// cannot enter the sandbox's network namespace (a runner that is not root,
// or an engine on another host): the bytes are the SSH stream, so the
// relay sees only ciphertext.
func relay(addr string, in io.Reader, out io.Writer, stderr io.Writer) int {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "codepod-agent: relay: %v\n", err)
		return 1
	}
	defer c.Close()
	go func() {
		io.Copy(c, in)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite() // the runner closed its side: pass the EOF on
		}
	}()
	io.Copy(out, c)
	return 0
}

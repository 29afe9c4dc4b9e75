package sshws_test

import (
	"io"
	"net"
	"net/http"
	"testing"

	"golang.org/x/crypto/ssh"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// BenchmarkThroughput pushes 4 MiB chunks one way, each acknowledged by
// the far end, over: plain TCP; a WebSocket spliced to TCP by a server
// (one relay); SSH directly over TCP; SSH over one relay; and SSH over two
// relays, as in CodePod (client WS ⇄ server ⇄ runner WS ⇄ agent).
func BenchmarkThroughput(b *testing.B) {
	chunk := randomBytes(b, sinkChunk)
	sink := tcpServer(b, func(c net.Conn) {
		buf := make([]byte, sinkChunk)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			c.Write([]byte{'.'})
		}
	})
	sshd := newSSHServer(b)

	b.Run("raw/tcp", func(b *testing.B) {
		c, err := net.Dial("tcp", sink)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		push(b, c, c, chunk)
	})
	b.Run("raw/ws-relay", func(b *testing.B) {
		c := dial(b, relayTo(b, sink), sshws.DialOptions{})
		push(b, c, c, chunk)
	})
	b.Run("ssh/tcp", func(b *testing.B) {
		c, err := net.Dial("tcp", sshd.addr)
		if err != nil {
			b.Fatal(err)
		}
		pushSSH(b, c, sshd, chunk)
	})
	b.Run("ssh/ws-relay", func(b *testing.B) {
		pushSSH(b, dial(b, relayTo(b, sshd.addr), sshws.DialOptions{}), sshd, chunk)
	})
	b.Run("ssh/ws-2-relays", func(b *testing.B) {
		runner := relayTo(b, sshd.addr)
		server := wsServer(b, sshws.AcceptOptions{}, func(r *http.Request, conn net.Conn) {
			up, err := sshws.Dial(r.Context(), runner, sshws.DialOptions{HTTPClient: testClient(b)})
			if err != nil {
				b.Errorf("dial runner: %v", err)
				return
			}
			sshws.Splice(r.Context(), conn, up)
		})
		pushSSH(b, dial(b, wsURL(server, "/"), sshws.DialOptions{}), sshd, chunk)
	})
}

// relayTo starts a WebSocket server that splices each tunnel to addr.
func relayTo(b *testing.B, addr string) string {
	return wsURL(wsServer(b, sshws.AcceptOptions{}, splicer(b, addr, nil)), "/")
}

func pushSSH(b *testing.B, conn net.Conn, sshd *sshServer, chunk []byte) {
	c, chans, reqs, err := ssh.NewClientConn(conn, "bench", sshd.client)
	if err != nil {
		b.Fatal(err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	s := session(b, client)
	stdin, _ := s.StdinPipe()
	stdout, _ := s.StdoutPipe()
	if err := s.Start("sink"); err != nil {
		b.Fatal(err)
	}
	push(b, stdin, stdout, chunk)
	stdin.Close()
	s.Wait()
}

// push writes chunk b.N times, waiting for each acknowledgement.
func push(b *testing.B, w io.Writer, r io.Reader, chunk []byte) {
	b.SetBytes(int64(len(chunk)))
	ack := make([]byte, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(chunk); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, ack); err != nil {
			b.Fatal(err)
		}
	}
}

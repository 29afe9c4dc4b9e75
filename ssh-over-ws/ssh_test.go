package sshws_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// sshServer is a small SSH server on loopback. Its sessions run "echo
// WORDS" (prints WORDS), "exit N" (exit status N) and "sink" (reads stdin
// and writes one byte per sinkChunk bytes read).
type sshServer struct {
	addr    string
	hostKey ssh.PublicKey
	client  *ssh.ClientConfig
}

const sinkChunk = 4 << 20

func newSSHServer(t testing.TB) *sshServer {
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, userPriv, _ := ed25519.GenerateKey(rand.Reader)
	userSigner, _ := ssh.NewSignerFromKey(userPriv)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if !bytes.Equal(k.Marshal(), userSigner.PublicKey().Marshal()) {
				return nil, errors.New("unknown key")
			}
			return nil, nil
		},
	}
	cfg.AddHostKey(hostSigner)
	s := &sshServer{
		hostKey: hostSigner.PublicKey(),
		client: &ssh.ClientConfig{
			User:            "root",
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(userSigner)},
			HostKeyCallback: ssh.FixedHostKey(hostSigner.PublicKey()),
		},
	}
	s.addr = tcpServer(t, func(c net.Conn) { serveSSH(c, cfg) })
	return s
}

func serveSSH(c net.Conn, cfg *ssh.ServerConfig) {
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		wg.Go(func() { serveSession(ch, creqs) })
	}
}

func serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" || len(req.Payload) < 4 {
			req.Reply(false, nil)
			continue
		}
		req.Reply(true, nil)
		status := run(ch, string(req.Payload[4:]))
		ch.CloseWrite()
		ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, status))
		return
	}
}

func run(ch ssh.Channel, cmd string) uint32 {
	name, arg, _ := strings.Cut(cmd, " ")
	switch name {
	case "echo":
		fmt.Fprintln(ch, arg)
		return 0
	case "exit":
		n, _ := strconv.Atoi(arg)
		return uint32(n)
	case "sink":
		buf := make([]byte, sinkChunk)
		for {
			if _, err := io.ReadFull(ch, buf); err != nil {
				return 0
			}
			ch.Write([]byte{'.'})
		}
	}
	fmt.Fprintf(ch.Stderr(), "%s: not found\n", name)
	return 127
}

func TestSSHThroughTunnel(t *testing.T) {
	sshd := newSSHServer(t)
	spliced := make(chan error, 1)
	srv := wsServer(t, sshws.AcceptOptions{}, splicer(t, sshd.addr, spliced))
	conn := dial(t, wsURL(srv, "/api/v1/sandboxes/sb1/tunnel"), sshws.DialOptions{})

	c, chans, reqs, err := ssh.NewClientConn(conn, "sb1", sshd.client)
	if err != nil {
		t.Fatalf("SSH handshake over the tunnel: %v", err)
	}
	client := ssh.NewClient(c, chans, reqs)

	out, err := session(t, client).Output("echo hello through the tunnel")
	if err != nil || string(out) != "hello through the tunnel\n" {
		t.Errorf("echo: %q, %v", out, err)
	}
	var exit *ssh.ExitError
	if err := session(t, client).Run("exit 3"); !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Errorf("exit 3: %v, want exit status 3", err)
	}
	if err := client.Close(); err != nil {
		t.Errorf("close SSH client: %v", err)
	}
	if err := within(t, "Splice's return", spliced); err != nil {
		t.Errorf("Splice = %v, want nil after the SSH client closed", err)
	}
}

func session(t testing.TB, c *ssh.Client) *ssh.Session {
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	return s
}

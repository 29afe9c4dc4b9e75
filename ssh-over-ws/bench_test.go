package sshws_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// push writes chunk b.N times, waiting for each acknowledgement. It also
// reports the process's CPU time and its read and write system calls (from
// /proc/self/io, where there is one) per MB moved: all the ends run in
// this process, and these figures move far less with the machine's load
// than MB/s does.
func push(b *testing.B, w io.Writer, r io.Reader, chunk []byte) {
	b.SetBytes(int64(len(chunk)))
	ack := make([]byte, 1)
	r0, w0, ok := syscallCounts()
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(chunk); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, ack); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mb := float64(b.N) * float64(len(chunk)) / 1e6
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1e3/mb, "cpu-ms/MB")
	if r1, w1, ok1 := syscallCounts(); ok && ok1 {
		b.ReportMetric(float64(r1-r0)/mb, "reads/MB")
		b.ReportMetric(float64(w1-w0)/mb, "writes/MB")
	}
}

// syscallCounts returns the process's read and write system calls so far
// (syscr and syscw of /proc/self/io); ok is false where there is no such
// file.
func syscallCounts() (reads, writes int64, ok bool) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
		case k == "syscr":
			reads = n
		case k == "syscw":
			writes = n
		}
	}
	return reads, writes, true
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

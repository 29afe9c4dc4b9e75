package agent

import (
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// directTCPIP serves "direct-tcpip" channels (ssh -L, ssh -W, an SDK's port
// forward): it dials the requested address from inside the container and
// splices the two streams. Unlike gliderlabs' DirectTCPIPHandler it passes
// half-closes through (a client that sends EOF still gets the response).
func (a *Agent) directTCPIP(_ *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	a.watchConn(conn)
	var d struct {
		DestAddr   string
		DestPort   uint32
		OriginAddr string
		OriginPort uint32
	}
	if err := gossh.Unmarshal(nc.ExtraData(), &d); err != nil {
		nc.Reject(gossh.ConnectionFailed, "bad direct-tcpip request: "+err.Error())
		return
	}
	dest := net.JoinHostPort(d.DestAddr, strconv.FormatUint(uint64(d.DestPort), 10))
	dialer := net.Dialer{Timeout: 10 * time.Second}
	tc, err := dialer.DialContext(ctx, "tcp", dest)
	if err != nil {
		nc.Reject(gossh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		tc.Close()
		return
	}
	if !a.track() {
		ch.Close()
		tc.Close()
		return
	}
	defer a.wg.Done()
	a.log.Debug("forward open", "user", conn.User(), "dest", dest)
	splice(ch, reqs, tc)
	a.log.Debug("forward closed", "user", conn.User(), "dest", dest)
}

// splice copies both ways until both directions are done, or until the
// channel is closed (then the TCP connection is closed too).
func splice(ch gossh.Channel, reqs <-chan *gossh.Request, tc net.Conn) {
	defer tc.Close()
	defer ch.Close()
	go func() {
		gossh.DiscardRequests(reqs) // returns when the channel closes
		tc.Close()
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(ch, tc)
		ch.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		io.Copy(tc, ch)
		if cw, ok := tc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	wg.Wait()
}

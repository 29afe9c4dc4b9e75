package agent

import (
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// watchConn starts keep-alives for conn, once. It is called from channel
// handlers because gliderlabs offers no hook once a connection is
// authenticated; every client opens a channel right after that.
func (a *Agent) watchConn(conn *gossh.ServerConn) {
	if _, loaded := a.conns.LoadOrStore(conn, struct{}{}); loaded {
		return
	}
	if !a.track() {
		return
	}
	go func() {
		defer a.wg.Done()
		defer a.conns.Delete(conn)
		a.keepAlive(conn)
	}()
}

// keepAlive sends keepalive@openssh.com every interval and closes the
// connection after KeepAliveCountMax intervals without any reply (a
// "request failed" reply counts: it proves the peer is there). Idle but
// live connections are never closed.
func (a *Agent) keepAlive(conn *gossh.ServerConn) {
	done := make(chan struct{})
	go func() { conn.Wait(); close(done) }()
	var lastReply atomic.Int64
	var inFlight atomic.Bool
	lastReply.Store(time.Now().UnixNano())
	tick := time.NewTicker(a.cfg.KeepAliveInterval)
	defer tick.Stop()
	limit := time.Duration(a.cfg.KeepAliveCountMax) * a.cfg.KeepAliveInterval
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if time.Since(time.Unix(0, lastReply.Load())) > limit {
			a.log.Info("closing unresponsive connection", "user", conn.User(), "missed", a.cfg.KeepAliveCountMax)
			conn.Close()
			<-done
			return
		}
		if inFlight.CompareAndSwap(false, true) {
			go func() {
				defer inFlight.Store(false)
				if _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
					lastReply.Store(time.Now().UnixNano())
				}
			}()
		}
	}
}

package gateway

import (
	"time"

	"golang.org/x/crypto/ssh"
)

// acquire marks c, sandboxID's pooled connection, as in use by one more
// call, so CloseIdle leaves it open. It returns the entry to release (nil
// when c is no longer pooled: then there is nothing to track).
func (p *Pool) acquire(sandboxID string, c *ssh.Client) *entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[sandboxID]
	if e == nil || !isReady(e) || e.client != c {
		return nil
	}
	e.active++
	e.lastUsed = p.cfg.Now()
	return e
}

// release ends one call's use of e; the connection's idle time starts when
// the last call ends.
func (p *Pool) release(e *entry) {
	if e == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e.active--
	e.lastUsed = p.cfg.Now()
}

// CloseIdle closes the connections that no call has used for IdleTimeout
// as of now, and returns how many it closed. Connections with a call
// running (an exec, a terminal) and dials in flight are kept. The pool
// calls it by itself; tests call it with a clock of their own.
func (p *Pool) CloseIdle(now time.Time) int {
	p.mu.Lock()
	var idle []*entry
	for id, e := range p.entries {
		if isReady(e) && e.active == 0 && now.Sub(e.lastUsed) >= p.cfg.IdleTimeout {
			idle = append(idle, e)
			delete(p.entries, id)
		}
	}
	p.mu.Unlock()
	for _, e := range idle {
		e.close()
	}
	if len(idle) > 0 {
		p.log.Debug("closed idle ssh connections", "count", len(idle))
	}
	return len(idle)
}

// closeIdleLoop runs CloseIdle a few times per IdleTimeout until Close.
func (p *Pool) closeIdleLoop() {
	defer p.wg.Done()
	every := max(p.cfg.IdleTimeout/4, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			p.CloseIdle(p.cfg.Now())
		}
	}
}

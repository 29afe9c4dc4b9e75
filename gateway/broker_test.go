package gateway_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// closedWithin fails unless done closes within d.
func closedWithin(t *testing.T, done <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: not done after %s", what, d)
	}
}

func TestBrokerDeliverThenWait(t *testing.T) {
	b := gateway.NewBroker(nil)
	p := b.Expect("tun-1", "runner-a")
	client, runner := net.Pipe()
	defer runner.Close()
	done, err := b.Deliver("tun-1", "runner-a", client)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := p.Wait(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	go runner.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
	select {
	case <-done:
		t.Fatal("done closed while the conn is in use")
	default:
	}
	conn.Close()
	closedWithin(t, done, time.Second, "done after Close")
	if b.Len() != 0 {
		t.Errorf("broker holds %d tunnels", b.Len())
	}
}

func TestBrokerWaitThenDeliver(t *testing.T) {
	b := gateway.NewBroker(nil)
	p := b.Expect("tun-2", "runner-a")
	got := make(chan net.Conn, 1)
	go func() {
		c, err := p.Wait(ctx(t))
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	time.Sleep(20 * time.Millisecond)
	a, z := net.Pipe()
	defer z.Close()
	done, err := b.Deliver("tun-2", "runner-a", a)
	if err != nil {
		t.Fatal(err)
	}
	c := <-got
	c.Close()
	closedWithin(t, done, time.Second, "done")
}

func TestBrokerWaitTimesOut(t *testing.T) {
	b := gateway.NewBroker(nil)
	b.EarlyWait = 50 * time.Millisecond
	p := b.Expect("tun-3", "runner-a")
	cx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Wait(cx)
	// The limit is what was left of the deadline when Wait began: 200ms,
	// less whatever a busy machine took to get there.
	wantCode(t, err, codepod.ETIMEOUT, "runner did not answer within ", "ms")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Wait took %s", d)
	}
	a, z := net.Pipe()
	defer a.Close()
	defer z.Close()
	_, err = b.Deliver("tun-3", "runner-a", a)
	wantCode(t, err, codepod.ENOTFOUND, "tun-3")
	if b.Len() != 0 {
		t.Errorf("broker holds %d tunnels", b.Len())
	}
}

func TestBrokerRejectsAnotherRunner(t *testing.T) {
	b := gateway.NewBroker(nil)
	p := b.Expect("tun-4", "runner-a")
	defer p.Cancel()
	a, z := net.Pipe()
	defer a.Close()
	defer z.Close()
	_, err := b.Deliver("tun-4", "runner-b", a)
	wantCode(t, err, codepod.EFORBIDDEN, "another runner")
	// The rightful runner can still deliver.
	done, err := b.Deliver("tun-4", "runner-a", a)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Wait(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	closedWithin(t, done, time.Second, "done")
}

func TestBrokerCancelClosesAnUntakenConn(t *testing.T) {
	b := gateway.NewBroker(nil)
	p := b.Expect("tun-5", "runner-a")
	a, z := net.Pipe()
	defer z.Close()
	done, err := b.Deliver("tun-5", "runner-a", a)
	if err != nil {
		t.Fatal(err)
	}
	p.Cancel()
	closedWithin(t, done, time.Second, "done after Cancel")
	if _, err := z.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("runner side read %v, want EOF: the conn was not closed", err)
	}
}

// TestBrokerRaceLeavesNothingOpen races deliveries against waits that give
// up: every delivered conn must end up taken or closed.
func TestBrokerRaceLeavesNothingOpen(t *testing.T) {
	b := gateway.NewBroker(nil)
	b.EarlyWait = 20 * time.Millisecond
	var wg sync.WaitGroup
	for i := range 200 {
		id := "race-" + string(rune('a'+i%26)) + time.Now().Format("150405.000000000")
		p := b.Expect(id, "r")
		a, z := net.Pipe()
		wg.Go(func() {
			defer z.Close()
			done, err := b.Deliver(id, "r", a)
			if err != nil {
				a.Close()
				return
			}
			closedWithin(t, done, 5*time.Second, "delivered conn")
		})
		wg.Go(func() {
			cx, cancel := context.WithTimeout(context.Background(), time.Duration(i%3)*time.Millisecond)
			defer cancel()
			if c, err := p.Wait(cx); err == nil {
				c.Close()
			}
		})
	}
	wg.Wait()
	if b.Len() != 0 {
		t.Errorf("broker holds %d tunnels", b.Len())
	}
}

// TestBrokerDeliveryBeforeExpect: a runner that dials back before the
// waiter registered is held until it does.
func TestBrokerDeliveryBeforeExpect(t *testing.T) {
	b := gateway.NewBroker(nil)
	a, z := net.Pipe()
	defer z.Close()
	type delivered struct {
		done <-chan struct{}
		err  error
	}
	res := make(chan delivered, 1)
	go func() {
		done, err := b.Deliver("tun-early", "runner-a", a)
		res <- delivered{done, err}
	}()
	time.Sleep(50 * time.Millisecond)
	p := b.Expect("tun-early", "runner-a")
	c, err := p.Wait(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	d := <-res
	if d.err != nil {
		t.Fatal(d.err)
	}
	c.Close()
	closedWithin(t, d.done, time.Second, "done")

	// Nobody ever expects it: refused after the grace.
	b.EarlyWait = 300 * time.Millisecond
	start := time.Now()
	_, err = b.Deliver("tun-never", "runner-a", a)
	wantCode(t, err, codepod.ENOTFOUND, "unknown or expired")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("refused after %s, before the grace", d)
	}
}

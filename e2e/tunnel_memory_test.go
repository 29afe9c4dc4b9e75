package e2e_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxTunnelHeap bounds the heap one open tunnel holds in this process,
// which runs every Go part of it: the client's SSH connection and
// WebSocket, the server's two WebSockets and splice (two 64 KiB copy
// buffers), the runner's WebSocket, splice and connection to the agent.
// The copy buffers are the bulk (4 × 64 KiB), then the WebSockets' 40 KiB
// read buffers (4 × 40 KiB); SSH channel windows do not count, since
// nothing is in flight once a transfer has been read.
const maxTunnelHeap = 1 << 20

// TestTunnelMemoryBounded opens 20 tunnels, moves 8 MiB through each both
// ways, and checks the live heap they hold while open stays under
// maxTunnelHeap each, and that it is returned when they close.
func TestTunnelMemoryBounded(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-tunnel-mem")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sshOverTunnel(ctx, t, c, sb).Close() // warm: pooled connections, caches
	before := liveHeap()
	const n = 20
	var clients []*ssh.Client
	for range n {
		cl := sshOverTunnel(ctx, t, c, sb)
		clients = append(clients, cl)
		if err := upload(cl, 8<<20); err != nil {
			t.Fatal(err)
		}
		if err := download(cl, 8<<20); err != nil {
			t.Fatal(err)
		}
	}
	open := liveHeap()
	perTunnel := (int64(open) - int64(before)) / n
	t.Logf("live heap %d KiB before, %d KiB with %d tunnels open: %d KiB per tunnel", before>>10, open>>10, n, perTunnel>>10)
	if perTunnel > maxTunnelHeap {
		t.Errorf("each open tunnel holds %d KiB of heap, more than %d KiB", perTunnel>>10, maxTunnelHeap>>10)
	}
	for _, cl := range clients {
		cl.Close()
	}
	var after uint64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		after = liveHeap()
		if after < before+n*maxTunnelHeap/8 || time.Now().After(deadline) {
			break
		}
	}
	if after >= before+n*maxTunnelHeap/8 {
		t.Errorf("live heap %d KiB after the tunnels closed, %d KiB before", after>>10, before>>10)
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

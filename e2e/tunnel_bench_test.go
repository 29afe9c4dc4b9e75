package e2e_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// tunnelBytes is what BenchmarkTunnelThroughput moves each way per op.
const tunnelBytes = 200 << 20

// BenchmarkTunnelThroughput moves 200 MB into the sandbox (`cat >
// /dev/null`) and 200 MB out of it (`head -c … /dev/zero`) over SSH,
// through the tunnel (client → server WebSocket → runner → agent) and
// directly to the agent (the runner's dial, no server), alternating per op
// so both see the same machine; it reports MB/s of each and their ratio.
//
// It also reports, per path and direction, the CPU time this process (the
// SSH client, and for the tunnel the server and the runner too; not the
// agent) spent per MB, and for uploads its read and write system calls per
// MB: what the tunnel's relays cost, in figures that move far less with
// the machine's load than MB/s does.
func BenchmarkTunnelThroughput(b *testing.B) {
	c := sharedCluster(b)
	sb := newBenchSandbox(b, c, "bench-tunnel", "codepod/tiny:latest", 2)
	ctx := context.Background()
	paths := []struct {
		name string
		c    *ssh.Client
	}{{"tunnel", c.tunnelAgent(ctx, b, sb)}, {"direct", c.directAgent(ctx, b, sb)}}
	took := make([][2]time.Duration, len(paths)) // up, down
	cpu := make([][2]time.Duration, len(paths))
	calls := make([]int64, len(paths)) // reads and writes, up
	for b.Loop() {
		for i, p := range paths {
			start, cpu0, calls0 := time.Now(), processCPU(), syscalls()
			if err := upload(p.c, tunnelBytes); err != nil {
				b.Fatalf("%s upload: %v", p.name, err)
			}
			took[i][0] += time.Since(start)
			cpu[i][0] += processCPU() - cpu0
			calls[i] += syscalls() - calls0
			start, cpu0 = time.Now(), processCPU()
			if err := download(p.c, tunnelBytes); err != nil {
				b.Fatalf("%s download: %v", p.name, err)
			}
			took[i][1] += time.Since(start)
			cpu[i][1] += processCPU() - cpu0
		}
	}
	mb := float64(b.N) * tunnelBytes / 1e6
	rate := func(i, dir int) float64 { return mb / took[i][dir].Seconds() }
	for i, p := range paths {
		b.ReportMetric(rate(i, 0), p.name+"-up-MB/s")
		b.ReportMetric(rate(i, 1), p.name+"-down-MB/s")
		b.ReportMetric(float64(cpu[i][0].Microseconds())/1e3/mb, p.name+"-up-cpu-ms/MB")
		b.ReportMetric(float64(cpu[i][1].Microseconds())/1e3/mb, p.name+"-down-cpu-ms/MB")
		if calls[i] > 0 {
			b.ReportMetric(float64(calls[i])/mb, p.name+"-up-syscalls/MB")
		}
	}
	b.ReportMetric(rate(0, 0)/rate(1, 0), "up-tunnel/direct")
	b.ReportMetric(rate(0, 1)/rate(1, 1), "down-tunnel/direct")
}

var zeros = make([]byte, 256<<10)

// upload writes n bytes into a session's `cat > /dev/null`.
func upload(c *ssh.Client, n int64) error {
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	in, err := s.StdinPipe()
	if err != nil {
		return err
	}
	if err := s.Start("cat > /dev/null"); err != nil {
		return err
	}
	for left := n; left > 0; left -= int64(len(zeros)) {
		if _, err := in.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			return err
		}
	}
	in.Close()
	return s.Wait()
}

// download reads n bytes of a session's `head -c n /dev/zero`.
func download(c *ssh.Client, n int64) error {
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	out, err := s.StdoutPipe()
	if err != nil {
		return err
	}
	if err := s.Start(fmt.Sprintf("head -c %d /dev/zero", n)); err != nil {
		return err
	}
	got, err := io.CopyBuffer(io.Discard, out, make([]byte, 256<<10))
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("read %d bytes, want %d", got, n)
	}
	return s.Wait()
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// syscalls is the number of read and write system calls this process has
// made (syscr + syscw of /proc/self/io), 0 where that file is missing.
func syscalls() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	var n int64
	for line := range strings.SplitSeq(string(data), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		if k == "syscr" || k == "syscw" {
			c, _ := strconv.ParseInt(v, 10, 64)
			n += c
		}
	}
	return n
}

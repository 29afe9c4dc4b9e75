package testenv

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// VMRSS is this process's resident set size, read from /proc: what an
// operator's `ps` shows, so attack tests bound what users would see.
func VMRSS(tb testing.TB) uint64 {
	tb.Helper()
	n, err := vmRSS()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func vmRSS() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}

// SampleRSS samples VMRSS every 10ms until the returned function is called,
// which returns the peak.
func SampleRSS(tb testing.TB) func() uint64 {
	var peak uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			n, err := vmRSS()
			if err != nil {
				tb.Error(err)
				return
			}
			peak = max(peak, n)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return max(peak, VMRSS(tb)) }
}

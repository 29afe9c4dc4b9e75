package proc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/agent/proc"
	"golang.org/x/sys/unix"
)

func startSh(t *testing.T, r *proc.Reaper, script string) *proc.Process {
	t.Helper()
	p, err := r.Start("/bin/sh", []string{"sh", "-c", script}, &os.ProcAttr{
		Files: []*os.File{nil, nil, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExactStatuses: in both modes every process gets its own status back,
// even with many exiting at once next to orphans.
func TestExactStatuses(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("reapAll=%v", all), func(t *testing.T) {
			r := proc.NewReaper(all, nil)
			ctx, cancel := context.WithCancel(context.Background())
			var running sync.WaitGroup
			running.Add(1)
			go func() { defer running.Done(); r.Run(ctx) }()
			defer func() { cancel(); running.Wait() }()
			var wg sync.WaitGroup
			for i := 0; i < 40; i++ {
				wg.Add(1)
				go func(code int) {
					defer wg.Done()
					p := startSh(t, r, fmt.Sprintf("(sleep 0.02 &); exit %d", code))
					if ws := p.Wait(); !ws.Exited() || ws.ExitStatus() != code {
						t.Errorf("status %s, want exit %d", proc.Describe(ws), code)
					}
				}(i)
			}
			wg.Wait()
			p := startSh(t, r, "kill -KILL $$")
			if ws := p.Wait(); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Errorf("status %s, want signal KILL", proc.Describe(ws))
			}
		})
	}
}

// TestReapAllCollectsOrphans: with reapAll, a double-forked grandchild
// re-parented to this (subreaper) process does not stay a zombie.
func TestReapAllCollectsOrphans(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	r := proc.NewReaper(true, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := 0; i < 5; i++ {
		startSh(t, r, "(sleep 0.05 &); exit 0").Wait()
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(zombies()) > 0 || len(children()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("children left: %v, zombies: %v", children(), zombies())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSignalNames(t *testing.T) {
	for _, name := range []string{"TERM", "KILL", "INT", "HUP", "USR1"} {
		sig, ok := proc.ParseSignal(name)
		if !ok || proc.SignalName(sig) != name {
			t.Errorf("%s -> %v -> %s", name, sig, proc.SignalName(sig))
		}
	}
	if sig, ok := proc.ParseSignal("SIGTERM"); !ok || sig != syscall.SIGTERM {
		t.Errorf("SIGTERM -> %v", sig)
	}
	if _, ok := proc.ParseSignal("NOPE"); ok {
		t.Error("NOPE parsed")
	}
}

// children lists this process's children as "pid state".
func children() []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, _ := os.ReadFile(d)
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		var state string
		var ppid int
		fmt.Sscanf(st[i+1:], " %s %d", &state, &ppid)
		if ppid == os.Getpid() {
			out = append(out, filepath.Base(filepath.Dir(d))+" "+state)
		}
	}
	return out
}

func zombies() []string {
	var z []string
	for _, c := range children() {
		if strings.HasSuffix(c, " Z") {
			z = append(z, c)
		}
	}
	return z
}

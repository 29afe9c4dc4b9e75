package agent

// In-place replacement (docs/upgrades.md): the runner puts a new agent
// binary in a directory it bind-mounts read-only into every sandbox
// (DefaultAgentsDir) and asks the serving agent, over SSH, to hand over
// (UpgradeRequest). The serving agent checks the binary — under
// AgentsDir, a regular file, with the SHA-256 the runner named — starts it
// with the listening socket as an inherited descriptor, and waits for it to
// say it serves. Then it stops accepting: new sessions go to the new agent,
// the old one's sessions (an open exec stream, an SSH login) go on until
// they end. An old agent that is PID 1 stays as the sandbox's reaper and the
// image command's parent; one that is not exits once drained. The sandbox's
// container never stops.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

const (
	// UpgradeRequest is the SSH global request that asks the agent to hand
	// over to a new binary; its payload is an UpgradeOrder.
	UpgradeRequest = "codepod-agent-upgrade@codepod.dev"
	// DefaultAgentsDir is where the runner's agent binaries appear inside
	// a sandbox: a read-only bind of a host directory only the runner
	// writes.
	DefaultAgentsDir = "/.codepod/agents"
	// handoverReadyTimeout bounds how long a new agent may take to serve.
	handoverReadyTimeout = 20 * time.Second
	// Descriptors a taking-over agent inherits (after stdin, stdout, stderr).
	TakeoverListenerFD = 3
	TakeoverReadyFD    = 4
)

// UpgradeOrder names the new agent binary: a file in AgentsDir and the
// SHA-256 it must have.
type UpgradeOrder struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// upgradeRequest answers UpgradeRequest: true once the new agent serves.
func (a *Agent) upgradeRequest(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
	var o UpgradeOrder
	if err := json.Unmarshal(req.Payload, &o); err != nil {
		return false, []byte("bad upgrade order: " + err.Error())
	}
	if err := a.handOver(o); err != nil {
		a.log.Error("agent upgrade refused or failed", "path", o.Path, "err", err)
		return false, []byte(err.Error())
	}
	return true, nil
}

// checkBinary opens the binary o names and checks it: a regular file (not a
// link) directly in AgentsDir whose content has o's SHA-256. It returns the
// open file; the caller closes it.
func (a *Agent) checkBinary(o UpgradeOrder) (*os.File, error) {
	dir := filepath.Clean(a.cfg.AgentsDir)
	if filepath.Dir(filepath.Clean(o.Path)) != dir || strings.Contains(o.Path, "..") {
		return nil, fmt.Errorf("%s is not in %s, where only the runner puts agent binaries", o.Path, dir)
	}
	if fi, err := os.Lstat(o.Path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", o.Path)
	}
	f, err := os.OpenFile(o.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); o.SHA256 == "" || got != strings.ToLower(o.SHA256) {
		f.Close()
		return nil, fmt.Errorf("%s has SHA-256 %s, not the %q the runner named", o.Path, got, o.SHA256)
	}
	return f, nil
}

// handOver starts the binary o names with the listener and, once it
// serves, stops accepting and drains.
func (a *Agent) handOver(o UpgradeOrder) error {
	a.mu.Lock()
	ln, busy := a.tcpLn, a.handedOver
	a.mu.Unlock()
	if busy {
		return errors.New("this agent has handed over already; ask the new one")
	}
	if ln == nil {
		return errors.New("this agent does not listen on TCP: nothing to hand over")
	}
	bin, err := a.checkBinary(o)
	if err != nil {
		return err
	}
	defer bin.Close()
	lf, err := ln.File() // a duplicate: closing ours later leaves the child's open
	if err != nil {
		return fmt.Errorf("listener descriptor: %w", err)
	}
	defer lf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	// The checked descriptor is what runs (/proc/self/fd/N in the child is
	// the file hashed above): nothing can swap the file in between.
	binFD := 5
	argv := []string{o.Path, "--takeover", "--etc", a.cfg.EtcDir, "--run-dir", a.cfg.RunDir, "--agents-dir", a.cfg.AgentsDir}
	p, err := a.reaper.Start(fmt.Sprintf("/proc/self/fd/%d", binFD), argv, &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr, lf, pw, bin},
	})
	pw.Close()
	if err != nil {
		return fmt.Errorf("start the new agent: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := pr.Read(b)
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			p.Signal(syscall.SIGKILL)
			return fmt.Errorf("the new agent exited before serving (see the sandbox's agent log): %w", err)
		}
	case <-time.After(handoverReadyTimeout):
		p.Signal(syscall.SIGKILL)
		pr.Close()
		return fmt.Errorf("the new agent did not serve within %s", handoverReadyTimeout)
	}
	a.mu.Lock()
	a.handedOver = true
	a.mu.Unlock()
	a.log.Info("handed over to a new agent", "pid", p.Pid, "binary", o.Path)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		p.Wait()
		a.log.Info("the agent this one handed over to exited", "pid", p.Pid)
	}()
	go func() {
		// Stop accepting; wait for this agent's sessions to end.
		a.srv.Shutdown(context.Background())
		a.log.Info("drained after the hand-over")
		close(a.drained)
	}()
	return nil
}

// Drained is closed once an agent that handed over has no session left.
func (a *Agent) Drained() <-chan struct{} { return a.drained }

// TakeOverListener is the listener a taking-over agent inherited.
func TakeOverListener() (net.Listener, error) {
	f := os.NewFile(TakeoverListenerFD, "listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("inherited listener: %w", err)
	}
	return ln, nil
}

// SignalReady tells the agent that started this one that it serves.
func SignalReady() error {
	f := os.NewFile(TakeoverReadyFD, "ready")
	defer f.Close()
	_, err := f.Write([]byte{1})
	return err
}

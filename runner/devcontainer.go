package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/wire"
)

// devcontainerOf is the payload's devcontainer settings (nil: none).
func devcontainerOf(p *wire.SandboxPayload) (*codepod.DevcontainerSpec, error) {
	if len(p.Devcontainer) == 0 || string(p.Devcontainer) == "null" {
		return nil, nil
	}
	d := new(codepod.DevcontainerSpec)
	if err := json.Unmarshal(p.Devcontainer, d); err != nil {
		return nil, fmt.Errorf("devcontainer settings of sandbox %s: %w", p.ID, err)
	}
	return d, nil
}

// writeDevcontainer puts the settings where the agent reads them
// (etc/devcontainer.json), or removes a stale file.
func (r *Runner) writeDevcontainer(etc string, p *wire.SandboxPayload) error {
	path := filepath.Join(etc, agent.DevcontainerFile)
	if len(p.Devcontainer) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeFileAtomic(path, p.Devcontainer, 0o644)
}

// applyDevcontainer sets what the container itself needs of d.
func applyDevcontainer(spec *ContainerSpec, d *codepod.DevcontainerSpec) {
	if d == nil {
		return
	}
	spec.NoImageCommand = d.OverrideCommand == nil || *d.OverrideCommand
	for _, m := range d.Mounts {
		spec.Volumes = append(spec.Volumes, Volume{Name: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
}

// shutdownAsked: the agent asked for its sandbox to be stopped
// (shutdownAction stopContainer and the last terminal session closed);
// waitLifecycle stopped it.
type shutdownAsked struct{ reason string }

func (e *shutdownAsked) Error() string { return e.reason }

// lifecycleFailed is a devcontainer hook that failed: the sandbox is left
// in error with the hook, its command and its last output as the reason.
type lifecycleFailed struct{ reason string }

func (e *lifecycleFailed) Error() string { return e.reason }

// waitLifecycle follows the agent's devcontainer lifecycle (run by the
// agent itself, so it goes on across a runner restart) until every
// create/start hook is done, reporting the running hook and its last line
// of output as progress. A failed hook stops the container and returns a
// *lifecycleFailed; a redelivered job asks again and gets the same answer.
//
// With untilReady it returns once the agent is Ready (the waitFor hook
// finished), reporting whether every hook is done. With untilShutdown it
// does not return when the hooks are done but follows on until the agent
// asks for the sandbox to be stopped (shutdownAction stopContainer), which
// it does, returning a *shutdownAsked.
func (r *Runner) waitLifecycle(ctx context.Context, sandboxID string, untilReady, untilShutdown bool, progress func(string)) (done bool, err error) {
	secret, err := os.ReadFile(filepath.Join(r.sandboxDir(sandboxID), "etc", FileSSHSecret))
	if err != nil {
		return false, fmt.Errorf("devcontainer lifecycle: read the sandbox's ssh secret: %w", err)
	}
	fp, err := r.fingerprint(sandboxID)
	if err != nil {
		return false, err
	}
	conn, err := r.cfg.Backend.DialAgent(ctx, sandboxID)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	cfg := agentClientConfig(secret, sandboxID, fp)
	c, chans, reqs, err := ssh.NewClientConn(conn, "agent", cfg)
	if err != nil {
		return false, fmt.Errorf("devcontainer lifecycle: ssh to the agent: %w", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	st := agent.LifecycleStatus{Seq: -1}
	for {
		payload, _ := json.Marshal(st)
		ok, reply, err := client.SendRequest(agent.LifecycleRequest, true, payload)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, fmt.Errorf("devcontainer lifecycle: ask the agent: %w", err)
		}
		if !ok || json.Unmarshal(reply, &st) != nil {
			return false, errors.New("devcontainer lifecycle: the agent does not report it (is the agent older than the runner?)")
		}
		switch {
		case st.Failed != "":
			// Kept for the inventory: a hook that fails after the job
			// ended stops the container, and this says why.
			if err := writeFileAtomic(r.lifecycleFailedFile(sandboxID), []byte(st.Failed), 0o644); err != nil {
				r.log.Warn("cannot record why a devcontainer hook failed", "sandbox_id", sandboxID, "err", err)
			}
			if err := r.cfg.Backend.StopSandbox(context.WithoutCancel(ctx), sandboxID, 5*time.Second); err != nil {
				r.log.Warn("cannot stop a sandbox whose devcontainer lifecycle failed", "sandbox_id", sandboxID, "err", err)
			}
			return false, &lifecycleFailed{st.Failed}
		case untilShutdown && st.Shutdown != "":
			if err := r.cfg.Backend.StopSandbox(context.WithoutCancel(ctx), sandboxID, 5*time.Second); err != nil {
				return false, fmt.Errorf("stop the sandbox its agent asked to stop: %w", err)
			}
			return true, &shutdownAsked{st.Shutdown}
		case st.Done && !untilShutdown:
			return true, nil
		case untilReady && st.Ready:
			return false, nil
		case st.Running != "":
			msg := "lifecycle: " + st.Running + " running"
			if st.Last != "" {
				msg += ": " + st.Last
			}
			progress(msg)
		}
	}
}

// followLifecycle waits for p's devcontainer lifecycle, when it has one.
func (r *Runner) followLifecycle(ctx context.Context, p *wire.SandboxPayload, progress func(string)) error {
	d, err := devcontainerOf(p)
	if err != nil || d == nil {
		return err
	}
	if err := os.Remove(r.lifecycleFailedFile(p.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	progress("lifecycle: starting")
	done, err := r.waitLifecycle(ctx, p.ID, true, false, progress)
	stopOnDetach := d.ShutdownAction == "stopContainer"
	if err != nil || done && !stopOnDetach {
		return err
	}
	// Ready after waitFor: the later hooks go on in the background. One
	// that fails stops the container, and the inventory reports it stopped
	// with the hook's failure as the reason.
	r.follows.Add(1)
	go func() {
		defer r.follows.Done()
		r.followInBackground(ctx, p.ID, stopOnDetach)
	}()
	return nil
}

// followInBackground follows a sandbox's lifecycle after it was ready; a
// hook that fails stops the container (waitLifecycle) and is reported to
// the server at once, which puts the sandbox in error. Should that report
// not arrive, the next inventory carries it (the lifecycle-failed file).
//
// With stopOnDetach (shutdownAction stopContainer) it follows on after
// the hooks until the agent asks for the sandbox to be stopped, stops it
// and reports it stopped, with why, at once.
func (r *Runner) followInBackground(ctx context.Context, id string, stopOnDetach bool) {
	_, err := r.waitLifecycle(ctx, id, false, stopOnDetach, func(string) {})
	var failed *lifecycleFailed
	var shutdown *shutdownAsked
	switch {
	case errors.As(err, &shutdown):
		r.log.Info("stopped a sandbox its agent asked to stop", "sandbox_id", id, "reason", shutdown.reason)
		r.reportStateNow(ctx, wire.SandboxState{ID: id, State: wire.StateStopped, Reason: shutdown.reason}, "a stopped sandbox")
	case errors.As(err, &failed):
		r.log.Info("devcontainer hook failed after the sandbox was ready: stopped it", "sandbox_id", id, "err", err)
		r.reportStateNow(ctx, wire.SandboxState{ID: id, State: wire.StateFailed, Reason: truncate(failed.reason, 1024)}, "a failed devcontainer hook")
	case err != nil && ctx.Err() == nil:
		r.log.Info("devcontainer lifecycle after ready", "sandbox_id", id, "err", err)
	}
}

// resumeFollows follows again, after a runner (re)start, the lifecycle of
// every running devcontainer sandbox here: a hook that was still running
// in the background when the previous runner process ended, and fails
// later, still stops the sandbox and puts it in error. A sandbox whose
// hooks are all done answers at once.
func (r *Runner) resumeFollows(ctx context.Context) {
	list, err := r.cfg.Backend.ListSandboxes(ctx, r.ID())
	if err != nil {
		r.log.Warn("cannot list sandboxes to follow their devcontainer lifecycle", "err", err)
		return
	}
	for _, c := range list {
		if !c.Running || validSandboxID(c.SandboxID) != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.sandboxDir(c.SandboxID), "etc", agent.DevcontainerFile))
		if err != nil {
			continue
		}
		var d codepod.DevcontainerSpec
		if json.Unmarshal(b, &d) != nil {
			continue
		}
		r.follows.Add(1)
		go func() {
			defer r.follows.Done()
			r.followInBackground(ctx, c.SandboxID, d.ShutdownAction == "stopContainer")
		}()
	}
}

// lifecycleFailedFile holds why a sandbox the runner stopped by itself
// failed: a devcontainer hook, or the disk watch (disk.go). It is in the
// runner's side of the sandbox directory, which the sandbox does not see.
func (r *Runner) lifecycleFailedFile(id string) string {
	return filepath.Join(r.sandboxDir(id), "lifecycle-failed")
}

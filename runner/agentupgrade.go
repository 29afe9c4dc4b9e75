package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent"
)

// agentsDir is <StateDir>/agents: the runner's agent binaries, each named
// by its SHA-256, bind-mounted read-only at /.codepod/agents in every
// sandbox made since in-place upgrades exist. Only the runner writes it,
// on its own host path: nothing the sandbox can write is ever followed.
func (r *Runner) agentsDir() string { return filepath.Join(r.cfg.StateDir, "agents") }

// stageAgent copies the runner's agent binary into agentsDir under its
// SHA-256 (once) and returns that hash.
func (r *Runner) stageAgent() (string, error) {
	src, err := os.Open(r.cfg.AgentBinary)
	if err != nil {
		return "", fmt.Errorf("agent binary: %w", err)
	}
	defer src.Close()
	h := sha256.New()
	if _, err := io.Copy(h, src); err != nil {
		return "", fmt.Errorf("agent binary: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := filepath.Join(r.agentsDir(), sum)
	if fi, err := os.Lstat(dst); err == nil && fi.Mode().IsRegular() {
		return sum, nil
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(r.agentsDir(), ".staging-")
	if err != nil {
		return "", fmt.Errorf("stage the agent binary: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return "", fmt.Errorf("stage the agent binary: %w", err)
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("stage the agent binary: %w", err)
	}
	return sum, nil
}

// AgentClient is an SSH client to sandbox id's agent, authenticated with a
// token the runner mints from the sandbox's secret, its host key pinned.
func (r *Runner) AgentClient(ctx context.Context, id string) (*ssh.Client, error) {
	secret, err := os.ReadFile(filepath.Join(r.sandboxDir(id), "etc", FileSSHSecret))
	if err != nil {
		return nil, fmt.Errorf("read the sandbox's ssh secret: %w", err)
	}
	fp, err := r.fingerprint(id)
	if err != nil {
		return nil, err
	}
	conn, err := r.cfg.Backend.DialAgent(ctx, id)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(probeTimeout))
	cfg := agentClientConfig(secret, id, fp)
	c, chans, reqs, err := ssh.NewClientConn(conn, "agent", cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh to the agent: %w", err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// RequestAgentUpgrade sends order to sandbox id's serving agent and
// returns its refusal, if any. UpgradeAgent is what callers want; this is
// the raw request (tests send hostile orders with it).
func (r *Runner) RequestAgentUpgrade(ctx context.Context, id string, order agent.UpgradeOrder) error {
	c, err := r.AgentClient(ctx, id)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	payload, _ := json.Marshal(order)
	ok, reply, err := c.SendRequest(agent.UpgradeRequest, true, payload)
	switch {
	case err != nil:
		return fmt.Errorf("ask the agent to upgrade: %w", err)
	case !ok && len(reply) == 0:
		return errors.New("the sandbox's agent cannot be replaced in place (it predates in-place upgrades): restart the sandbox to give it the current agent")
	case !ok:
		return fmt.Errorf("the agent refused the upgrade: %s", reply)
	}
	return nil
}

// UpgradeAgent replaces the agent of running sandbox id in place with the
// runner's agent binary (docs/upgrades.md): new sessions reach the new
// agent, open ones finish on the old one, the container keeps running. It
// returns the version the new agent announces.
func (r *Runner) UpgradeAgent(ctx context.Context, id string) (string, error) {
	if err := validSandboxID(id); err != nil {
		return "", err
	}
	if !r.hasAgentsMount(ctx, id) {
		return "", codepod.Errorf(codepod.ECONFLICT, "sandbox %s was made before in-place agent upgrades: restart it once to give it the current agent (and in-place upgrades from then on)", id)
	}
	sum, err := r.stageAgent()
	if err != nil {
		return "", err
	}
	order := agent.UpgradeOrder{Path: agent.DefaultAgentsDir + "/" + sum, SHA256: sum}
	if err := r.RequestAgentUpgrade(ctx, id, order); err != nil {
		return "", err
	}
	fp, err := r.fingerprint(id)
	if err != nil {
		return "", err
	}
	if err := r.waitReachable(ctx, id, fp); err != nil { // records the new version
		return "", err
	}
	return r.agentVersionOf(id), nil
}

// hasAgentsMount: whether the agent of sandbox id can see agentsDir. The
// agent itself checks the binary; this only makes the error clear.
func (r *Runner) hasAgentsMount(ctx context.Context, id string) bool {
	ins, ok := r.cfg.Backend.(interface {
		HasMount(ctx context.Context, sandboxID, target string) (bool, error)
	})
	if !ok {
		return true
	}
	has, err := ins.HasMount(ctx, id, agent.DefaultAgentsDir)
	return err != nil || has
}

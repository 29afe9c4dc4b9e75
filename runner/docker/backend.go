// Package docker is the runner's Backend on the Docker Engine API. It is the
// only package of CodePod that talks to the engine: it pulls and imports
// images, and creates, starts, stops, lists and removes sandbox containers
// with CodePod's isolation settings (see isolation.go and docs/isolation.md).
//
// Containers are found by name (codepod-<sandbox id>) and carry labels that
// tie them to their sandbox, owner and runner, so every operation is
// idempotent by sandbox id.
package docker

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/docker/docker/client"

	"github.com/codepod-dev/codepod/runner"
)

// Labels every sandbox container carries.
const (
	LabelSandbox = "dev.codepod.sandbox" // sandbox id
	LabelOwner   = "dev.codepod.owner"   // owner's user id
	LabelRunner  = "dev.codepod.runner"  // runner id
	LabelName    = "dev.codepod.name"    // sandbox name
	LabelBuild   = "dev.codepod.build"   // on images a runner built: their content-hash tag
	LabelDisk    = "dev.codepod.disk"    // the disk limit in bytes (runner.ContainerSpec.DiskBytes)
)

// DefaultNetwork is the user-defined bridge that "bridge" sandboxes join.
const DefaultNetwork = "codepod-sandboxes"

// DefaultPolicyNetwork and DefaultPolicyBridge are the bridge sandboxes
// with a network policy join, and its host interface, on which the
// runner's firewall (runner/netpolicy) matches their traffic.
const (
	DefaultPolicyNetwork = "codepod-policy"
	DefaultPolicyBridge  = "cp-policy0"
)

// ContainerName is the name of sandbox id's container.
func ContainerName(sandboxID string) string { return "codepod-" + sandboxID }

// Config configures a Backend. The zero value is usable.
type Config struct {
	// Network is the bridge "bridge" sandboxes join, created on first use
	// with inter-container traffic disabled (default codepod-sandboxes).
	Network string
	// PolicyNetwork and PolicyBridge are the bridge sandboxes with a
	// network policy join and its host interface (default codepod-policy,
	// cp-policy0).
	PolicyNetwork, PolicyBridge string
	// AgentChannel is how the runner reaches agents: ChannelNetns,
	// ChannelExec, or "" to choose (netns when root with a local engine).
	AgentChannel string
	Logger       *slog.Logger
}

// Backend implements runner.Backend on a Docker Engine.
type Backend struct {
	cli     *client.Client
	network string
	log     *slog.Logger

	policyNet, policyBridge string

	netMu    sync.Mutex
	netReady map[string]bool

	argv argvCache // image command lines from EnsureImage, for the create that follows

	channel     string      // ChannelNetns or ChannelExec
	netnsDenied atomic.Bool // netns was refused: exec from then on

	renames renames // adopted pool members whose rename is under way
}

var _ runner.Backend = (*Backend)(nil)

// New connects to the engine named by the environment (DOCKER_HOST and
// friends, else the local socket), negotiating the API version.
func New(cfg Config) (*Backend, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if cfg.Network == "" {
		cfg.Network = DefaultNetwork
	}
	if cfg.PolicyNetwork == "" {
		cfg.PolicyNetwork = DefaultPolicyNetwork
	}
	if cfg.PolicyBridge == "" {
		cfg.PolicyBridge = DefaultPolicyBridge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	channel, err := chooseChannel(cfg.AgentChannel, cli.DaemonHost())
	if err != nil {
		cli.Close()
		return nil, err
	}
	return &Backend{cli: cli, network: cfg.Network, log: cfg.Logger, channel: channel,
		policyNet: cfg.PolicyNetwork, policyBridge: cfg.PolicyBridge, netReady: map[string]bool{}}, nil
}

// Client is the underlying Docker client (for tests and tools).
func (b *Backend) Client() *client.Client { return b.cli }

// Close releases the client's connections.
func (b *Backend) Close() error { return b.cli.Close() }

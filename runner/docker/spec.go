package docker

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
)

// containerConfig turns a sandbox spec and its image's command line into
// the engine's create request. The agent becomes PID 1 and runs the image's
// entrypoint and command after "--".
func containerConfig(spec runner.ContainerSpec, imageArgv []string, networkMode string) (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Image: spec.Image,
		// The agent starts as root whatever the image's USER, so it can read
		// its 0600 files; it runs sessions as the user who logs in.
		User:       "0:0",
		Hostname:   hostname(spec),
		Env:        envList(spec.Env),
		Entrypoint: agentEntrypoint(spec, imageArgv),
		Cmd:        nil, // with Entrypoint set, the engine does not add the image's Cmd
		Labels:     labels(spec),
	}
	host := &container.HostConfig{
		Mounts:         mounts(spec),
		Tmpfs:          map[string]string{RunPath: RunTmpfsOptions},
		NetworkMode:    container.NetworkMode(networkMode),
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Privileged:     false,
		CapDrop:        []string{"ALL"},
		CapAdd:         slices.Clone(Capabilities),
		SecurityOpt:    slices.Clone(SecurityOpts),
		ReadonlyRootfs: false,
		Init:           new(false), // the agent is PID 1 and reaps orphans itself
		Runtime:        engineRuntime(spec.Runtime),
		IpcMode:        container.IPCModePrivate,
		Resources:      resources(spec),
		LogConfig: container.LogConfig{Type: LogDriver, Config: map[string]string{
			"max-size": fmt.Sprintf("%dm", LogFileMiB), "max-file": fmt.Sprint(LogMaxFiles),
		}},
	}
	return cfg, host
}

// labels tie a container to its sandbox, owner and runner; a pool
// member's carry only its runner and pool key (it belongs to no one yet).
func labels(spec runner.ContainerSpec) map[string]string {
	disk := strconv.FormatInt(diskLimit(spec.DiskBytes), 10)
	if spec.Pool != "" {
		return map[string]string{LabelRunner: spec.RunnerID, LabelPool: spec.Pool, LabelDisk: disk}
	}
	return map[string]string{
		LabelSandbox: spec.SandboxID,
		LabelOwner:   spec.OwnerID,
		LabelRunner:  spec.RunnerID,
		LabelName:    spec.Name,
		LabelDisk:    disk,
	}
}

// GVisorPidsOverhead is added to the pids limit of a sandbox under gVisor.
// There the engine's pids limit counts the host threads of gVisor's own
// kernel (the sentry: about 75 with one idle shell, more under load), not
// the sandbox's processes, and the sentry dies when it cannot make a
// thread (a 64 limit kills it at the first exec). The guest's processes are
// then bounded by the memory limit (each costs sentry memory).
const GVisorPidsOverhead = 512

// resources maps the spec's limits; a zero limit takes CodePod's default
// rather than none, so a sandbox is never unbounded.
func resources(spec runner.ContainerSpec) container.Resources {
	d := codepod.DefaultLimits
	cpu, mem, pids := spec.CPU, spec.MemoryBytes, spec.PidsLimit
	if cpu <= 0 {
		cpu = d.DefaultCPU
	}
	if mem <= 0 {
		mem = d.DefaultMemory
	}
	if pids <= 0 {
		pids = d.DefaultPids
	}
	if engineRuntime(spec.Runtime) == "runsc" {
		pids += GVisorPidsOverhead
	}
	return container.Resources{
		NanoCPUs:   int64(cpu * 1e9),
		Memory:     mem,
		MemorySwap: mem, // no swap on top of the memory limit
		PidsLimit:  &pids,
	}
}

// mounts are the only host paths a sandbox sees, both read-only: no
// tenant-writable host directory exists (docs/security-channel.md).
func mounts(spec runner.ContainerSpec) []mount.Mount {
	ms := []mount.Mount{
		{Type: mount.TypeBind, Source: spec.AgentBinary, Target: AgentPath, ReadOnly: true},
		{Type: mount.TypeBind, Source: spec.EtcDir, Target: EtcPath, ReadOnly: true},
	}
	if spec.AgentsDir != "" {
		// The runner's staged agent binaries (in-place upgrades): the
		// runner writes only its host side; the sandbox cannot write it.
		ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: spec.AgentsDir, Target: AgentsPath, ReadOnly: true})
	}
	return append(ms, volumeMounts(spec)...)
}

// agentEntrypoint runs the agent, and the image's command after "--"
// unless the spec says not to.
func agentEntrypoint(spec runner.ContainerSpec, imageArgv []string) []string {
	ep := []string{AgentPath, "--listen-tcp", fmt.Sprintf("127.0.0.1:%d", AgentPort), "--"}
	if spec.NoImageCommand {
		return ep
	}
	return append(ep, imageArgv...)
}

// VolumeName is the engine's name of a sandbox's named volume.
func VolumeName(sandboxID, name string) string { return "codepod-" + sandboxID + "-" + name }

// volumeMounts are the sandbox's named volumes; the engine makes each on
// create, labelled with the sandbox so RemoveSandbox finds it.
func volumeMounts(spec runner.ContainerSpec) []mount.Mount {
	var out []mount.Mount
	for _, v := range spec.Volumes {
		out = append(out, mount.Mount{
			Type: mount.TypeVolume, Source: VolumeName(spec.SandboxID, v.Name), Target: v.Target, ReadOnly: v.ReadOnly,
			VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{LabelSandbox: spec.SandboxID, LabelOwner: spec.OwnerID}},
		})
	}
	return out
}

// engineRuntime maps a CodePod runtime name ("gvisor", "runc") to the
// engine's; any other name is passed on as the engine's own ("" is the
// engine's default).
func engineRuntime(name string) string {
	if rt, ok := Runtimes[name]; ok {
		return rt
	}
	return name
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

var hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// hostname is the sandbox's name when it is a valid host name.
func hostname(spec runner.ContainerSpec) string {
	if hostnameRE.MatchString(spec.Name) {
		return spec.Name
	}
	return "sandbox"
}

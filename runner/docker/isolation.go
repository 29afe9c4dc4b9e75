package docker

// Capabilities is the only set a sandbox's processes may hold (everything
// else is dropped). It is Docker's default set minus MKNOD (no device
// nodes), NET_RAW (no raw or packet sockets: no ARP or IP spoofing on the
// bridge) and SETFCAP (no file capabilities). What is left lets root in a
// sandbox behave as users expect of a Linux box: chown and permission
// overrides for package managers (CHOWN, DAC_OVERRIDE, FOWNER, FSETID),
// switching users (SETUID, SETGID, AUDIT_WRITE for PAM, SETPCAP to drop
// capabilities), signals to its own processes (KILL), servers on low ports
// (NET_BIND_SERVICE) and chroot for build tools (SYS_CHROOT).
// docs/isolation.md explains the model.
var Capabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "AUDIT_WRITE",
}

// SecurityOpts are set on every sandbox: no process can gain privileges
// through setuid binaries or file capabilities. The engine's default
// seccomp and AppArmor profiles stay on.
var SecurityOpts = []string{"no-new-privileges"}

// Paths inside a sandbox.
const (
	AgentPath  = "/.codepod/bin/codepod-agent" // the agent binary, read-only bind, PID 1
	EtcPath    = "/.codepod/etc"               // host key, ssh secret, authorized keys (read-only bind)
	AgentsPath = "/.codepod/agents"            // agent binaries for in-place upgrades (read-only bind)
	RunPath    = "/.codepod/run"               // the agent's main.log: a tmpfs, nothing of it on the host
)

// RunTmpfsOptions size /.codepod/run. It is the only place the agent
// writes, and tenant root can write there too: a tmpfs in the container
// (counted against the container's memory) keeps that off the runner's
// disk, and 64 MiB holds main.log's 16 MiB cap with room to spare.
const RunTmpfsOptions = "size=64m,mode=0755"

// AgentPort is the TCP port the agent listens on at 127.0.0.1 inside the
// sandbox's network namespace (agent.Port). The runner reaches it only by
// entering that namespace (DialAgent); it is never published on the host.
const AgentPort = 49983

// Runtimes maps CodePod's runtime names to the engine's OCI runtimes.
var Runtimes = map[string]string{
	"runc":   "runc",
	"gvisor": "runsc",
}

// The engine's log of a sandbox's container holds what the agent (PID 1)
// writes: its own log lines, two per session, and anything tenant root
// writes to /proc/1/fd/1. It is a file on the runner's host, so it is
// bounded, whatever the engine's default log driver: json-file (what
// `docker logs` reads) rotated at LogFileMiB, LogMaxFiles files kept.
const (
	LogDriver   = "json-file"
	LogFileMiB  = 5
	LogMaxFiles = 2
	// LogMaxBytes is what one container's log can take on the host.
	LogMaxBytes = LogMaxFiles * LogFileMiB << 20
)

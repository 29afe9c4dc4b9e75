package agent

import (
	"encoding/json"
	"strings"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/agent/kernel"
)

// BannerPrefix starts the agent's SSH software version; the rest is the
// agent's build version (BannerVersion), so whoever dials it — the
// runner's reachability probe — learns which agent answers.
const BannerPrefix = "CodePod-Agent_"

// Banner is the SSH software version the agent announces for build version
// v. RFC 4253 allows neither spaces nor '-' there: '-' becomes '~' (and back
// in BannerVersion), anything else outside printable ASCII becomes '_'.
func Banner(v string) string {
	return BannerPrefix + strings.Map(func(r rune) rune {
		switch {
		case r == '-':
			return '~'
		case r <= ' ' || r > '~':
			return '_'
		}
		return r
	}, v)
}

// BannerVersion is the build version in an SSH identification line such as
// "SSH-2.0-CodePod-Agent_v1.2.3" ("" when it is not an agent's with one).
func BannerVersion(line string) string {
	line = strings.TrimRight(line, "\r\n")
	_, v, ok := strings.Cut(line, "-"+BannerPrefix)
	if !ok {
		return ""
	}
	return strings.ReplaceAll(v, "~", "-")
}

// newServer wires authentication, the session handler, sftp, direct-tcpip
// forwarding and keep-alives into a gliderlabs server.
func (a *Agent) newServer(signer gossh.Signer) *ssh.Server {
	srv := &ssh.Server{
		Version:          Banner(a.cfg.Version),
		HostSigners:      []ssh.Signer{signer},
		Handler:          a.handleSession,
		PasswordHandler:  a.checkPassword,
		PublicKeyHandler: a.checkPublicKey,
		// The sandbox is the user's own box: forwarding may reach anything
		// the container can.
		LocalPortForwardingCallback: func(ssh.Context, string, uint32) bool { return true },
		ChannelHandlers: map[string]ssh.ChannelHandler{
			"session":      a.sessionChannel,
			"direct-tcpip": a.directTCPIP,
		},
		SubsystemHandlers: map[string]ssh.SubsystemHandler{
			"sftp":           a.handleSFTP,
			ProcessSubsystem: a.handleProcess,
			kernel.Subsystem: a.handleCode,
		},
		RequestHandlers: map[string]ssh.RequestHandler{
			LifecycleRequest: a.lifecycleRequest,
			UpgradeRequest:   a.upgradeRequest,
		},
		// No IdleTimeout: an idle shell must stay open. Dead peers are found
		// by keep-alives instead.
	}
	return srv
}

// sessionChannel accepts a session through the channel wrapper (see
// watchedChannel) and hands it to gliderlabs' session machinery.
func (a *Agent) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	a.watchConn(conn)
	ssh.DefaultSessionHandler(srv, conn, watchingNewChannel{nc}, ctx)
}

// lifecycleRequest answers LifecycleRequest: the lifecycle's status once it
// differs from the one in the payload (see LifecycleStatus).
func (a *Agent) lifecycleRequest(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
	var seen LifecycleStatus
	seen.Seq = -1
	if len(req.Payload) > 0 {
		json.Unmarshal(req.Payload, &seen)
	}
	st, err := a.lc.wait(ctx, seen.Seq)
	if err != nil {
		return false, nil
	}
	return true, st.JSON()
}

package agent

import (
	"github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
)

// handleSFTP serves the sftp subsystem in the agent's own process (so with
// the agent's identity, root), relative paths resolving from the login
// account's home. The server is never Closed: that would close the channel
// before gliderlabs sends the exit status, and sftp/scp would report failure.
func (a *Agent) handleSFTP(s ssh.Session) {
	if !a.track() {
		return
	}
	defer a.wg.Done()
	acct := lookupAccount(s.User())
	log := a.log.With("session", a.sessionName(s), "user", s.User(), "kind", "sftp")
	log.Info("session start")
	srv, err := sftp.NewServer(s, sftp.WithServerWorkingDirectory(acct.homeDir()))
	if err != nil {
		log.Error("sftp", "err", err)
		s.Exit(1)
		return
	}
	if err := srv.Serve(); err != nil {
		log.Info("session end", "err", err)
		return
	}
	log.Info("session end", "status", "exit 0")
}

package agent

import (
	"os"

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
	srv, err := sftp.NewServer(s, sftpOptions(acct.homeDir())...)
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

// sftpOptions makes relative paths resolve from home. When the agent's own
// working directory is home already (the binary moves to root's home at
// start), no option is needed, and none is given: pkg/sftp's working
// directory option also rewrites relative symlink targets into absolute
// ones, so `ln -s ../x link` over SFTP would point somewhere else.
func sftpOptions(home string) []sftp.ServerOption {
	if wd, err := os.Getwd(); err == nil && wd == home {
		return nil
	}
	return []sftp.ServerOption{sftp.WithServerWorkingDirectory(home)}
}

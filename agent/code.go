package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"

	"github.com/codepod-dev/codepod/agent/kernel"
	"github.com/gliderlabs/ssh"
)

// handleCode serves the code-contexts subsystem (kernel.Subsystem): one
// JSON request line in, one JSON reply line out, then exit 0. Closing the
// channel while a cell runs interrupts the cell. Kernels run as the
// session's user, in their home, with the session's environment.
func (a *Agent) handleCode(s ssh.Session) {
	if !a.track() {
		return
	}
	defer a.wg.Done()
	log := a.log.With("session", a.sessionName(s), "user", s.User(), "kind", "code")
	var req kernel.Request
	line, err := bufio.NewReaderSize(s, 64<<10).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err != nil {
		a.replyCode(s, kernel.Reply{Error: &kernel.ReplyError{Code: "invalid", Message: "bad code request: " + err.Error()}})
		return
	}
	log.Info("session start", "op", req.Op, "context", req.Context, "language", req.Language)
	ctx, cancel := context.WithCancel(s.Context())
	defer cancel()
	go func() {
		// The client's EOF (or the channel closing) ends the request.
		var b [1]byte
		for {
			if _, err := s.Read(b[:]); err != nil {
				cancel()
				return
			}
		}
	}()
	rep := a.codeOp(ctx, s, req)
	a.replyCode(s, rep)
	log.Info("session end")
}

// codeOp does req.
func (a *Agent) codeOp(ctx context.Context, s ssh.Session, req kernel.Request) kernel.Reply {
	var rep kernel.Reply
	var err error
	launch := func() kernel.Launch {
		acct := lookupAccount(s.User())
		env, dir := sessionEnv(acct, acct.shellPath(), a.sandboxEnv(), s.Environ(), "")
		return kernel.Launch{Env: env, Dir: dir, Cred: acct.credential(), Start: a.reaper.Start}
	}
	switch req.Op {
	case "create":
		var info kernel.Info
		info, err = a.code.Create(req.Language, launch())
		rep.Context = &info
	case "list":
		rep.Contexts = a.code.List()
		if rep.Contexts == nil {
			rep.Contexts = []kernel.Info{}
		}
	case "delete":
		err = a.code.Delete(req.Context)
	case "restart":
		var info kernel.Info
		info, err = a.code.Restart(req.Context)
		rep.Context = &info
	case "run":
		rep.Result, err = a.code.Run(ctx, req, launch())
	default:
		err = &kernel.Error{Code: "invalid", Message: "unknown code op " + req.Op}
	}
	if err != nil {
		var ke *kernel.Error
		if !errors.As(err, &ke) {
			ke = &kernel.Error{Code: "internal", Message: err.Error()}
		}
		return kernel.Reply{Error: &kernel.ReplyError{Code: ke.Code, Message: ke.Message}}
	}
	return rep
}

func (a *Agent) replyCode(s ssh.Session, rep kernel.Reply) {
	b, _ := json.Marshal(rep)
	s.Write(append(b, '\n'))
	s.CloseWrite()
	s.Exit(0)
}

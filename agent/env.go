package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// CwdEnv is the environment variable a client sets (an SSH "env" request,
// e.g. `ssh -o SetEnv=CODEPOD_CWD=/src`) to choose a session's working
// directory. It is not passed on to the command.
const CwdEnv = "CODEPOD_CWD"

// defaultPath is PATH when the container's environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// SandboxEnvFile is the file in the etc directory holding the sandbox's
// own environment (a JSON object of strings) when its container was made
// before the sandbox was known: the runner writes it when a create adopts
// a warm-pool container. The agent reads it for every session.
const SandboxEnvFile = "env.json"

// sandboxEnv reads the sandbox's environment from SandboxEnvFile, as
// sorted KEY=value pairs; none when the file is absent (a container made
// for its sandbox has that environment in its own).
func (a *Agent) sandboxEnv() []string {
	b, err := os.ReadFile(filepath.Join(a.cfg.EtcDir, SandboxEnvFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var m map[string]string
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		a.log.Warn("cannot read the sandbox's environment; sessions run without it", "err", err)
		return nil
	}
	return sortedEnv(m)
}

// sessionEnv builds a session's environment: the container's own
// environment (what the image set, as docker exec would see it), the
// sandbox's environment (SandboxEnvFile, over the image's), a default
// PATH if neither has one, the account's HOME, USER, LOGNAME and SHELL, TERM for
// a PTY, then whatever the client sent. It also returns the working
// directory: CODEPOD_CWD if the client sent it (relative to the
// home directory unless absolute), else the account's home.
func sessionEnv(acct account, shell string, sandbox, client []string, term string) (env []string, cwd string) {
	env = os.Environ()
	for _, kv := range sandbox {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env = setEnv(env, k, v)
		}
	}
	if !hasEnv(env, "PATH") {
		env = append(env, "PATH="+defaultPath)
	}
	env = setEnv(env, "HOME", acct.homeDir())
	env = setEnv(env, "USER", acct.name)
	env = setEnv(env, "LOGNAME", acct.name)
	env = setEnv(env, "SHELL", shell)
	if term != "" {
		env = setEnv(env, "TERM", term)
	}
	cwd = acct.homeDir()
	for _, kv := range client {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if k == CwdEnv {
			if v != "" {
				cwd = filepath.Join(acct.homeDir(), v) // absolute v wins
				if filepath.IsAbs(v) {
					cwd = filepath.Clean(v)
				}
			}
			continue
		}
		env = setEnv(env, k, v)
	}
	return env, cwd
}

// hasEnv reports whether env sets k.
func hasEnv(env []string, k string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			return true
		}
	}
	return false
}

// setEnv sets k=v in env, replacing an earlier value.
func setEnv(env []string, k, v string) []string {
	prefix := k + "="
	for i, kv := range env {
		if strings.HasPrefix(kv, prefix) {
			env[i] = prefix + v
			return env
		}
	}
	return append(env, prefix+v)
}

// sessionAccount is who a session logging in as login runs as: with a
// devcontainer, the default login (root, as the server and the CLI use)
// becomes its remoteUser, else its containerUser; any other login is
// looked up as before.
func (a *Agent) sessionAccount(login string) account {
	if d := a.cfg.Devcontainer; d != nil && login == "root" {
		for _, u := range []string{d.RemoteUser, d.ContainerUser} {
			if u == "" {
				continue
			}
			if acct, ok := readPasswd(passwdFile, u); ok {
				return acct
			}
			a.log.Warn("devcontainer user is not in /etc/passwd; sessions run as root", "user", u)
			break
		}
	}
	return lookupAccount(login)
}

// sessionEnvFor is sessionEnv with the devcontainer's remoteEnv (after the
// container's environment, before the client's) and its workspaceFolder
// as the default working directory.
func (a *Agent) sessionEnvFor(acct account, shell string, client []string, term string) ([]string, string) {
	d := a.cfg.Devcontainer
	if d == nil {
		return sessionEnv(acct, shell, a.sandboxEnv(), client, term)
	}
	var extra []string
	if d.WorkspaceFolder != "" {
		if fi, err := os.Stat(d.WorkspaceFolder); err == nil && fi.IsDir() {
			extra = append(extra, CwdEnv+"="+d.WorkspaceFolder)
		}
	}
	for _, kv := range sortedEnv(d.RemoteEnv) {
		extra = append(extra, expandContainerEnv(kv))
	}
	return sessionEnv(acct, shell, a.sandboxEnv(), append(extra, client...), term)
}

var containerEnvVar = regexp.MustCompile(`\$\{containerEnv:([^}:]+)(?::([^}]*))?\}`)

// expandContainerEnv replaces ${containerEnv:VAR} and
// ${containerEnv:VAR:default} with the container's environment.
func expandContainerEnv(s string) string {
	return containerEnvVar.ReplaceAllStringFunc(s, func(m string) string {
		sub := containerEnvVar.FindStringSubmatch(m)
		if v, ok := os.LookupEnv(sub[1]); ok {
			return v
		}
		return sub[2]
	})
}

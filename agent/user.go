package agent

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// passwdFile is where accounts are looked up.
const passwdFile = "/etc/passwd"

// account is who a session's processes run as.
//
// Any login name is accepted (authentication is by token or key, not by
// account). If the name is in /etc/passwd, processes run with its uid, gid,
// home and shell; otherwise they run as root with root's home.
type account struct {
	name  string
	uid   uint32
	gid   uint32
	home  string
	shell string // from passwd; may be empty or a nologin shell
}

// lookupAccount finds login in /etc/passwd, falling back to root.
func lookupAccount(login string) account {
	if a, ok := readPasswd(passwdFile, login); ok {
		return a
	}
	root, ok := readPasswd(passwdFile, "root")
	if !ok {
		root = account{name: "root", home: "/root"}
	}
	return root
}

// readPasswd returns the passwd entry for name.
func readPasswd(path, name string) (account, bool) {
	f, err := os.Open(path)
	if err != nil {
		return account{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 7 || fields[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(fields[2], 10, 32)
		gid, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 != nil || err2 != nil {
			return account{}, false
		}
		return account{name: name, uid: uint32(uid), gid: uint32(gid), home: fields[5], shell: fields[6]}, true
	}
	return account{}, false
}

// credential is what the child runs as: nil for root (the agent's own
// identity), else the account's uid and gid with no supplementary groups.
func (a account) credential() *syscall.Credential {
	if a.uid == 0 {
		return nil
	}
	return &syscall.Credential{Uid: a.uid, Gid: a.gid}
}

// homeDir is the account's home if it exists, else "/".
func (a account) homeDir() string {
	if fi, err := os.Stat(a.home); err == nil && fi.IsDir() {
		return a.home
	}
	return "/"
}

// shellPath is the shell commands run in: the passwd shell if it exists and
// is not a nologin/false placeholder, else bash if the image has it, else sh.
func (a account) shellPath() string {
	if a.shell != "" && !strings.HasSuffix(a.shell, "nologin") && filepath.Base(a.shell) != "false" && executable(a.shell) {
		return a.shell
	}
	return defaultShell()
}

// defaultShell is bash if present, else sh.
func defaultShell() string {
	for _, p := range []string{"/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash", "/bin/sh", "/usr/bin/sh"} {
		if executable(p) {
			return p
		}
	}
	return "/bin/sh"
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0
}

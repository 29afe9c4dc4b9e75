package agent_test

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
	"golang.org/x/crypto/ssh"
)

// openSSH holds the files the real ssh and sftp clients need: the user's
// private key and a known_hosts file that pins the agent's host key.
type openSSH struct {
	host, port string
	args       []string // common options
}

func newOpenSSH(t *testing.T, f *fixture, addr string) *openSSH {
	t.Helper()
	dir := t.TempDir()
	block, err := ssh.MarshalPrivateKey(f.userKey, "")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id_ed25519")
	write(t, key, pem.EncodeToMemory(block))
	host, port, _ := net.SplitHostPort(addr)
	known := filepath.Join(dir, "known_hosts")
	write(t, known, []byte(fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(f.hostKey))))
	return &openSSH{host: host, port: port, args: []string{
		"-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes",
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
	}}
}

// ssh runs the ssh client with extra args and returns stdout and the exit code.
func (o *openSSH) ssh(t *testing.T, args ...string) (string, int) {
	t.Helper()
	all := append(append([]string{"-p", o.port}, o.args...), args...)
	cmd := exec.Command(testenv.Command(t, "ssh"), all...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("ssh: %v", err)
	}
	if errb.Len() > 0 {
		t.Logf("ssh stderr: %s", errb.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

func TestOpenSSHClient(t *testing.T) {
	testenv.Command(t, "ssh")
	f := newFixture(t)
	p := startBinary(t, f, true)
	o := newOpenSSH(t, f, p.tcp)
	target := "root@" + o.host

	t.Run("exit status", func(t *testing.T) {
		if _, code := o.ssh(t, target, "exit 3"); code != 3 {
			t.Errorf("ssh exit %d, want 3", code)
		}
	})
	t.Run("output and SetEnv working directory", func(t *testing.T) {
		dir := t.TempDir()
		out, code := o.ssh(t, "-o", "SetEnv=CODEPOD_CWD="+dir+" GREETING=hi", target, `echo "$GREETING"; pwd`)
		if code != 0 || out != "hi\n"+dir+"\n" {
			t.Errorf("exit %d, stdout %q", code, out)
		}
	})
	t.Run("forced tty without a local terminal", func(t *testing.T) {
		out, code := o.ssh(t, "-tt", target, "stty size")
		if code != 0 || strings.TrimSpace(out) != "24 80" {
			t.Errorf("exit %d, stty size %q", code, out)
		}
	})
	t.Run("unpinned host key refused", func(t *testing.T) {
		args := []string{"-p", o.port, "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", target, "true"}
		if err := exec.Command("ssh", args...).Run(); err == nil {
			t.Error("ssh connected without the pinned host key")
		}
	})
}

func TestOpenSSHSFTPBatch(t *testing.T) {
	sftpBin := testenv.Command(t, "sftp")
	f := newFixture(t)
	p := startBinary(t, f, true)
	o := newOpenSSH(t, f, p.tcp)
	local := t.TempDir()
	data := make([]byte, 3<<20+7)
	rand.Read(data)
	write(t, filepath.Join(local, "up.bin"), data)
	remote := t.TempDir()
	batch := filepath.Join(local, "batch")
	write(t, batch, []byte(fmt.Sprintf("put %s %s/copy.bin\nget %s/copy.bin %s/back.bin\n",
		filepath.Join(local, "up.bin"), remote, remote, local)))
	args := append(append([]string{"-P", o.port}, o.args...), "-b", batch, "root@"+o.host)
	if out, err := exec.Command(sftpBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("sftp -b: %v: %s", err, out)
	}
	for _, path := range []string{filepath.Join(remote, "copy.bin"), filepath.Join(local, "back.bin")} {
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s differs from the original (err %v, %d bytes)", path, err, len(got))
		}
	}
}

func TestOpenSSHSCP(t *testing.T) {
	scpBin := testenv.Command(t, "scp")
	f := newFixture(t)
	p := startBinary(t, f, true)
	o := newOpenSSH(t, f, p.tcp)
	data := make([]byte, 100<<10)
	rand.Read(data)
	src := filepath.Join(t.TempDir(), "src.bin")
	write(t, src, data)
	dst := filepath.Join(t.TempDir(), "dst.bin")
	args := append(append([]string{"-P", o.port}, o.args...), src, "root@"+o.host+":"+dst)
	if out, err := exec.Command(scpBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("scp: %v: %s", err, out)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Errorf("scp copy differs (err %v, %d bytes)", err, len(got))
	}
}

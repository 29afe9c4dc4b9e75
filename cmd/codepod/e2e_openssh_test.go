package main_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// sshSetup is a user's machine after `codepod config set …` and
// `codepod ssh-config NAME > file`: a HOME with the CLI's settings, the
// managed identity and known_hosts, and an OpenSSH config file.
type sshSetup struct {
	c       *cluster
	home    string
	cfgFile string
	host    string // codepod-NAME
	id      string // the sandbox id
	env     []string
}

// newSSHSetup writes the CLI's config file in a temp HOME (so ssh's
// ProxyCommand finds the server and key there, as on a user's machine) and
// the ssh-config output for ref.
func newSSHSetup(t *testing.T, c *cluster, ref string) *sshSetup {
	t.Helper()
	testenv.Command(t, "ssh")
	s := &sshSetup{c: c, home: t.TempDir(), host: "codepod-" + ref, id: c.get(ref).ID}
	opts := cliOpts{home: s.home, noCreds: true}
	for _, kv := range [][2]string{{"SERVER_URL", c.URL}, {"API_KEY", c.AdminKey}} {
		if r := c.run(opts, "config", "set", kv[0], kv[1]); r.code != 0 {
			t.Fatalf("config set %s: exit %d: %s", kv[0], r.code, r.stderr)
		}
	}
	r := c.run(opts, "ssh-config", ref)
	if r.code != 0 {
		t.Fatalf("ssh-config: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"Host " + s.host, "ssh-proxy " + s.id, "StrictHostKeyChecking yes", "IdentityFile"} {
		if !bytes.Contains(r.stdout, []byte(want)) {
			t.Fatalf("ssh-config output lacks %q:\n%s", want, r.stdout)
		}
	}
	s.cfgFile = filepath.Join(s.home, "ssh_config")
	if err := os.WriteFile(s.cfgFile, r.stdout, 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = c.cliEnv(opts)
	return s
}

// ssh runs OpenSSH's ssh with the config file; args follow the host.
func (s *sshSetup) ssh(t *testing.T, stdin []byte, sshArgs []string, args ...string) cliResult {
	t.Helper()
	all := append([]string{"-F", s.cfgFile, "-o", "BatchMode=yes"}, sshArgs...)
	all = append(append(all, s.host), args...)
	return runCmd(t, bytes.NewReader(stdin), s.env, "ssh", all...)
}

func testOpenSSHExec(t *testing.T, s *sshSetup) {
	r := s.ssh(t, nil, nil, "echo", "hello from $(hostname)")
	if r.code != 0 || !strings.HasPrefix(string(r.stdout), "hello from ") {
		t.Fatalf("ssh echo: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := s.ssh(t, nil, nil, "exit 7"); r.code != 7 {
		t.Errorf("ssh 'exit 7': exit %d, want 7; stderr %q", r.code, r.stderr)
	}
	r = s.ssh(t, nil, []string{"-tt"}, "tty")
	if r.code != 0 || !strings.Contains(string(r.stdout), "/dev/pts/") {
		t.Errorf("ssh -tt tty: exit %d, stdout %q, stderr %q; want /dev/pts/N", r.code, r.stdout, r.stderr)
	}
	if r := s.ssh(t, nil, nil, "tty"); r.code == 0 {
		t.Errorf("ssh without -tt: tty says %q, want no terminal (exit 1)", r.stdout)
	}
	data := randomBytes(t, 1<<20)
	if r := s.ssh(t, data, nil, "cat"); r.code != 0 || !bytes.Equal(r.stdout, data) {
		t.Errorf("ssh cat of 1 MiB: exit %d, %d bytes back, equal %v", r.code, len(r.stdout), bytes.Equal(r.stdout, data))
	}
	// The CLI's own ssh command passes the status through too.
	if r := s.c.run(cliOpts{}, "sandbox", "ssh", "box", "--", "sh", "-c", "exit 5"); r.code != 5 {
		t.Errorf("sandbox ssh -- exit 5: exit %d, stderr %q", r.code, r.stderr)
	}
}

// testOpenSSHTamperedHostKey points ssh at a known_hosts whose entry for
// the sandbox holds another key: OpenSSH must refuse to connect.
func testOpenSSHTamperedHostKey(t *testing.T, s *sshSetup) {
	known := filepath.Join(s.home, ".config", "codepod", "known_hosts")
	b, err := os.ReadFile(known)
	if err != nil {
		t.Fatalf("managed known_hosts: %v", err)
	}
	alias := "codepod-" + s.id + " "
	if !bytes.Contains(b, []byte(alias+"ssh-ed25519 ")) {
		t.Fatalf("known_hosts has no ed25519 entry for %s:\n%s", alias, b)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewPublicKey(pub)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(l, alias) {
			l = alias + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other)))
		}
		lines = append(lines, l)
	}
	tampered := filepath.Join(s.home, "known_hosts.tampered")
	if err := os.WriteFile(tampered, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(s.cfgFile)
	cfg = bytes.ReplaceAll(cfg, []byte(known), []byte(tampered))
	if !bytes.Contains(cfg, []byte(tampered)) {
		t.Fatalf("ssh config does not name %s as UserKnownHostsFile:\n%s", known, cfg)
	}
	bad := &sshSetup{c: s.c, home: s.home, cfgFile: filepath.Join(s.home, "ssh_config.tampered"), host: s.host, id: s.id, env: s.env}
	if err := os.WriteFile(bad.cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	r := bad.ssh(t, nil, nil, "echo", "should-not-run")
	if r.code != 255 || bytes.Contains(r.stdout, []byte("should-not-run")) ||
		!bytes.Contains(r.stderr, []byte("Host key verification failed")) {
		t.Errorf("ssh with a tampered known_hosts: exit %d, stdout %q, stderr %q; want refusal", r.code, r.stdout, r.stderr)
	}
}

// testSCPAndSFTP moves 20 MB of random bytes up and down with the real
// scp and sftp and compares SHA-256 sums on both sides.
func testSCPAndSFTP(t *testing.T, s *sshSetup) {
	testenv.Command(t, "scp")
	testenv.Command(t, "sftp")
	dir := t.TempDir()
	data := randomBytes(t, 20<<20)
	want := sha(data)
	up := filepath.Join(dir, "up.bin")
	if err := os.WriteFile(up, data, 0o644); err != nil {
		t.Fatal(err)
	}
	scp := func(args ...string) {
		t.Helper()
		r := runCmd(t, nil, s.env, "scp", append([]string{"-F", s.cfgFile, "-o", "BatchMode=yes", "-q"}, args...)...)
		if r.code != 0 {
			t.Fatalf("scp %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	scp(up, s.host+":/tmp/scp.bin")
	scp(s.host+":/tmp/scp.bin", filepath.Join(dir, "scp-back.bin"))
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte("put "+up+" /tmp/sftp.bin\nget /tmp/sftp.bin "+filepath.Join(dir, "sftp-back.bin")+"\n"), 0o600)
	r := runCmd(t, nil, s.env, "sftp", "-F", s.cfgFile, "-o", "BatchMode=yes", "-b", batch, s.host)
	if r.code != 0 {
		t.Fatalf("sftp -b: exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{"scp-back.bin", "sftp-back.bin"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || sha(b) != want {
			t.Errorf("%s: %v, %d bytes, sha256 %s, want %s", f, err, len(b), sha(b), want)
		}
	}
	r = s.ssh(t, nil, nil, "sha256sum", "/tmp/scp.bin", "/tmp/sftp.bin")
	if r.code != 0 || strings.Count(string(r.stdout), want) != 2 {
		t.Errorf("sha256sum in the sandbox: exit %d, %q, want %s twice", r.code, r.stdout, want)
	}
	s.ssh(t, nil, nil, "rm", "-f", "/tmp/scp.bin", "/tmp/sftp.bin")
}

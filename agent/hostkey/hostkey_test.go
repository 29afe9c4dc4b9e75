package hostkey_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/agent/hostkey"
)

func TestGenerateKeepsKey(t *testing.T) {
	dir := t.TempDir()
	fp1, err := hostkey.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fp1, "SHA256:") {
		t.Fatalf("fingerprint %q lacks SHA256: prefix", fp1)
	}
	fi, err := os.Stat(filepath.Join(dir, hostkey.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", fi.Mode().Perm())
	}
	fp2, err := hostkey.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	fp3, err := hostkey.Fingerprint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fp1 != fp2 || fp1 != fp3 {
		t.Errorf("fingerprint changed: %s, %s, %s", fp1, fp2, fp3)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only host_key", len(entries))
	}
}

// TestOpenSSHAgrees checks the key is a real OpenSSH key: ssh-keygen reads it
// and prints the same fingerprint.
func TestOpenSSHAgrees(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed")
	}
	dir := t.TempDir()
	fp, err := hostkey.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-l", "-f", filepath.Join(dir, hostkey.FileName)).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v: %s", err, out)
	}
	if !strings.Contains(string(out), fp) || !strings.Contains(string(out), "ED25519") {
		t.Errorf("ssh-keygen says %q, want %s (ED25519)", out, fp)
	}
}

func TestFingerprintMissing(t *testing.T) {
	if _, err := hostkey.Fingerprint(t.TempDir()); err == nil {
		t.Fatal("Fingerprint of an empty directory succeeded")
	}
}

package agent_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/sftp"
)

func TestSFTPPutGet(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	data := make([]byte, 1<<20+123)
	rand.Read(data)
	remote := filepath.Join(t.TempDir(), "up.bin")

	w, err := sc.Create(remote)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(remote)
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("uploaded file differs (err %v, %d bytes)", err, len(onDisk))
	}
	r, err := sc.Open(remote)
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("downloaded file differs (err %v, %d bytes)", err, len(back))
	}
	if wd, err := sc.Getwd(); err != nil || wd != "/root" {
		t.Errorf("sftp working directory %q (%v), want /root", wd, err)
	}
	if _, err := sc.Stat("/no/such/file"); !os.IsNotExist(err) {
		t.Errorf("stat of a missing file: %v", err)
	}
}

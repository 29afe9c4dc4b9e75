package gateway

import (
	"context"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpClients caches one SFTP session per SSH connection: opening one
// costs a channel, a subsystem request and the SFTP version exchange (see
// BenchmarkSFTPStat), while a cached one serves many concurrent requests.
// An entry leaves the cache when its session ends, which it does at the
// latest when the SSH connection closes.
var sftpClients sync.Map // *ssh.Client → *sftpEntry

type sftpEntry struct {
	ready chan struct{}
	sc    *sftp.Client
	err   error
}

// sftpClient returns c's cached SFTP client, opening it once for
// concurrent callers.
func sftpClient(ctx context.Context, c *ssh.Client) (*sftp.Client, error) {
	v, loaded := sftpClients.LoadOrStore(c, &sftpEntry{ready: make(chan struct{})})
	e := v.(*sftpEntry)
	if !loaded {
		e.open(c)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		sftpClients.CompareAndDelete(c, e) // failures are not cached
		return nil, e.err
	}
	return e.sc, nil
}

// open starts the SFTP subsystem and a watcher that uncaches it when the
// session ends.
func (e *sftpEntry) open(c *ssh.Client) {
	defer close(e.ready)
	sc, err := sftp.NewClient(c,
		sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(64),
	)
	if err != nil {
		e.err = channelError(err)
		return
	}
	e.sc = sc
	go func() {
		sc.Wait()
		sftpClients.CompareAndDelete(c, e)
		sc.Close()
	}()
}

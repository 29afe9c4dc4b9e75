package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/codepod-dev/codepod"
	"golang.org/x/crypto/ssh"
)

// ErrConnLost is wrapped by the errors of operations that could not open an
// SSH channel because the connection had died: nothing ran in the sandbox,
// so the operation may be retried on a new connection (Pool.Do does).
var ErrConnLost = errors.New("ssh connection to the agent lost")

// Do runs fn on sandboxID's pooled connection. If fn fails with ErrConnLost
// (the pooled connection was dead before anything ran), the connection is
// discarded and fn runs once more on a fresh one.
func (p *Pool) Do(ctx context.Context, sandboxID string, fn func(c *ssh.Client) error) error {
	for attempt := 0; ; attempt++ {
		c, err := p.Client(ctx, sandboxID)
		if err != nil {
			return err
		}
		e := p.acquire(sandboxID, c)
		err = fn(c)
		p.release(e)
		if attempt > 0 || !errors.Is(err, ErrConnLost) {
			return err
		}
		p.log.Debug("pooled ssh connection was dead; reconnecting", "sandbox", sandboxID)
		p.Discard(sandboxID, c)
	}
}

// channelError explains why a channel (a session, the sftp subsystem) could
// not be opened: the agent refused it, or the connection is gone.
func channelError(err error) error {
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		return fmt.Errorf("%w (%v)", codepod.Errorf(codepod.EUNAVAILABLE, "the sandbox agent refused a new session: %s", oce.Message), err)
	}
	return fmt.Errorf("%w: %w (%v)", ErrConnLost, codepod.Errorf(codepod.EUNAVAILABLE, "the connection to the sandbox agent was lost"), err)
}

// newSession opens a session channel on c.
func newSession(c *ssh.Client) (*ssh.Session, error) {
	s, err := c.NewSession()
	if err != nil {
		return nil, channelError(err)
	}
	return s, nil
}

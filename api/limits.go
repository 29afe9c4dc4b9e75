package api

import (
	"runtime"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Limits bound what one server holds in memory and how fast clients may
// fail to authenticate, whatever they send. Zero fields take the defaults
// below (see docs/limits.md); cmd/codepod sets them from flags.
type Limits struct {
	// ExecMaxOutputBytes is the largest max_output_bytes a buffered exec
	// may ask for, per stream (default 4 MiB). Larger asks are refused
	// with a 422 that points at the streaming exec.
	ExecMaxOutputBytes int
	// ExecBufferBytes is the output all buffered execs of this server may
	// hold at once (default 128 MiB). Each exec reserves two streams of its
	// max_output_bytes for its whole run; one that finds no room within
	// ExecQueueWait is refused with 429 and Retry-After.
	ExecBufferBytes int64
	// ExecQueueWait is how long an exec waits for room (default 5s).
	ExecQueueWait time.Duration

	// PasswordHashers is how many password hashes (argon2id, 19 MiB each)
	// run at once (default GOMAXPROCS, at least 2); PasswordQueue more
	// wait for a turn (default 32), and beyond that a login gets 429.
	PasswordHashers int
	PasswordQueue   int

	// LoginRate and LoginBurst limit login attempts per client address
	// (default 1 every 3s after a burst of 20).
	LoginRate  rate.Limit
	LoginBurst int
	// AuthFailureRate and AuthFailureBurst limit failed authentications
	// (bad API keys, runner credentials, wrong passwords) per client
	// address and per key id or email (default 1 every 3s after a burst
	// of 20). Successful authentications take nothing from them.
	AuthFailureRate  rate.Limit
	AuthFailureBurst int
	// TrackedClients caps the addresses and key ids each limiter
	// remembers (default 65536); idle ones are forgotten first.
	TrackedClients int
}

// Defaults of Limits.
const (
	DefaultExecMaxOutputBytes = 4 << 20
	DefaultExecBufferBytes    = 128 << 20
	DefaultExecQueueWait      = 5 * time.Second
	DefaultPasswordQueue      = 32
	DefaultLoginBurst         = 20
	DefaultAuthFailureBurst   = 20
	DefaultTrackedClients     = 1 << 16
)

// DefaultLoginRate and DefaultAuthFailureRate refill one attempt every 3s.
var (
	DefaultLoginRate       = rate.Every(3 * time.Second)
	DefaultAuthFailureRate = rate.Every(3 * time.Second)
)

// withDefaults fills l's zero fields.
func (l Limits) withDefaults() Limits {
	setDefault(&l.ExecMaxOutputBytes, DefaultExecMaxOutputBytes)
	setDefault(&l.ExecBufferBytes, DefaultExecBufferBytes)
	setDefault(&l.ExecQueueWait, DefaultExecQueueWait)
	setDefault(&l.PasswordHashers, max(runtime.GOMAXPROCS(0), 2))
	setDefault(&l.PasswordQueue, DefaultPasswordQueue)
	setDefault(&l.LoginRate, DefaultLoginRate)
	setDefault(&l.LoginBurst, DefaultLoginBurst)
	setDefault(&l.AuthFailureRate, DefaultAuthFailureRate)
	setDefault(&l.AuthFailureBurst, DefaultAuthFailureBurst)
	setDefault(&l.TrackedClients, DefaultTrackedClients)
	return l
}

func setDefault[T int | int64 | time.Duration | rate.Limit](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// guards are the server's live limits: the exec output budget, the
// password hashing slots and the rate limiters.
type guards struct {
	limits     Limits
	execBudget *semaphore.Weighted
	hashing    *hashGate
	logins     *keyedLimiter // login attempts per client address
	failures   *keyedLimiter // failed authentications per address, key id or email
}

func newGuards(l Limits) guards {
	l = l.withDefaults()
	return guards{
		limits:     l,
		execBudget: newExecBudget(l),
		hashing:    newHashGate(l.PasswordHashers, l.PasswordQueue),
		logins:     newKeyedLimiter(l.LoginRate, l.LoginBurst, l.TrackedClients),
		failures:   newKeyedLimiter(l.AuthFailureRate, l.AuthFailureBurst, l.TrackedClients),
	}
}

package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/api"
)

// limitOptions are the flags of api.Limits (docs/limits.md).
type limitOptions struct {
	ExecMaxOutput    string
	ExecBuffer       string
	ExecQueueWait    time.Duration
	PasswordHashers  int
	PasswordQueue    int
	LoginEvery       time.Duration
	LoginBurst       int
	AuthFailureEvery time.Duration
	AuthFailureBurst int
	TrackedClients   int
}

func (o *limitOptions) register(fs *pflag.FlagSet) {
	envString(fs, &o.ExecMaxOutput, "exec-max-output", "CODEPOD_EXEC_MAX_OUTPUT", codepod.FormatBytes(api.DefaultExecMaxOutputBytes),
		"largest max_output_bytes a buffered exec may ask for, per stream")
	envString(fs, &o.ExecBuffer, "exec-buffer", "CODEPOD_EXEC_BUFFER", codepod.FormatBytes(api.DefaultExecBufferBytes),
		"exec output all buffered execs may hold at once (each reserves 2 × its max_output_bytes)")
	envDuration(fs, &o.ExecQueueWait, "exec-queue-wait", "CODEPOD_EXEC_QUEUE_WAIT", api.DefaultExecQueueWait,
		"how long an exec waits for room in the exec buffer before a 429")
	envInt(fs, &o.PasswordHashers, "password-hashers", "CODEPOD_PASSWORD_HASHERS", 0,
		"password hashes (argon2id, 19 MiB each) computed at once; 0: GOMAXPROCS, at least 2")
	envInt(fs, &o.PasswordQueue, "password-queue", "CODEPOD_PASSWORD_QUEUE", api.DefaultPasswordQueue,
		"logins that may wait for a hashing slot; more get a 429")
	envDuration(fs, &o.LoginEvery, "login-rate", "CODEPOD_LOGIN_RATE", 3*time.Second,
		"one login attempt per client address every this long, after the burst")
	envInt(fs, &o.LoginBurst, "login-burst", "CODEPOD_LOGIN_BURST", api.DefaultLoginBurst,
		"login attempts a client address may make at once")
	envDuration(fs, &o.AuthFailureEvery, "auth-failure-rate", "CODEPOD_AUTH_FAILURE_RATE", 3*time.Second,
		"one failed authentication per client address, key id or email every this long, after the burst")
	envInt(fs, &o.AuthFailureBurst, "auth-failure-burst", "CODEPOD_AUTH_FAILURE_BURST", api.DefaultAuthFailureBurst,
		"failed authentications a client address, key id or email may make at once")
	envInt(fs, &o.TrackedClients, "rate-limit-clients", "CODEPOD_RATE_LIMIT_CLIENTS", api.DefaultTrackedClients,
		"addresses and key ids each rate limiter remembers")
}

// limits turns the flags into api.Limits.
func (o limitOptions) limits() (api.Limits, error) {
	out, err := codepod.ParseBytes(o.ExecMaxOutput)
	if err != nil {
		return api.Limits{}, fmt.Errorf("--exec-max-output: %w", err)
	}
	if out < 1 || out > 16<<20 {
		return api.Limits{}, fmt.Errorf("--exec-max-output %s must be between 1 byte and 16m (use the streaming exec for more)", o.ExecMaxOutput)
	}
	buf, err := codepod.ParseBytes(o.ExecBuffer)
	if err != nil {
		return api.Limits{}, fmt.Errorf("--exec-buffer: %w", err)
	}
	if buf < 2*out {
		return api.Limits{}, fmt.Errorf("--exec-buffer %s must hold at least one exec at --exec-max-output (2 × %s)", o.ExecBuffer, o.ExecMaxOutput)
	}
	return api.Limits{
		ExecMaxOutputBytes: int(out), ExecBufferBytes: buf, ExecQueueWait: o.ExecQueueWait,
		PasswordHashers: o.PasswordHashers, PasswordQueue: o.PasswordQueue,
		LoginRate: every(o.LoginEvery), LoginBurst: o.LoginBurst,
		AuthFailureRate: every(o.AuthFailureEvery), AuthFailureBurst: o.AuthFailureBurst,
		TrackedClients: o.TrackedClients,
	}, nil
}

// every is a rate of one per d (0: the default).
func every(d time.Duration) rate.Limit {
	if d <= 0 {
		return 0
	}
	return rate.Every(d)
}

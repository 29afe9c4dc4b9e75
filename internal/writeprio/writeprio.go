// Package writeprio marks a context's database writes as urgent: a runner's
// poll claiming the jobs it was woken for, whose latency is the
// poll-to-delivery a user waits on. On SQLite the store serves urgent
// write transactions before others waiting for the single writer (see
// store's writeLock); on PostgreSQL it changes nothing.
package writeprio

import "context"

type key struct{}

// Urgent returns ctx with its write transactions marked urgent.
func Urgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, true)
}

// IsUrgent reports whether ctx was marked by Urgent.
func IsUrgent(ctx context.Context) bool {
	v, _ := ctx.Value(key{}).(bool)
	return v
}

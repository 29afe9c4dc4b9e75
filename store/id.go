package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// ID prefixes, one per kind of entity.
const (
	PrefixUser        = "usr_"
	PrefixAPIKey      = "key_"
	PrefixRunnerToken = "rt_"
	PrefixSSHKey      = "ssh_"
	PrefixRunner      = "run_"
	PrefixSandbox     = "sb_"
	PrefixJob         = "job_"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns prefix followed by 20 lowercase base32 characters (100 bits)
// from crypto/rand: short, URL-safe and unguessable, e.g. "sb_k3q…".
func NewID(prefix string) string {
	var b [13]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(idEncoding.EncodeToString(b[:])[:20])
}

// setID assigns a new ID to *id when it is empty.
func setID(id *string, prefix string) {
	if *id == "" {
		*id = NewID(prefix)
	}
}

// now is the current time as the store keeps it.
func now() time.Time { return dbTime(time.Now()) }

// dbTime is t in UTC at the microsecond precision both databases keep, so
// a struct written matches the struct read back.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTimePtr is dbTime for optional times.
func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// stamp sets *t to the current time when it is zero, and normalises it.
func stamp(t *time.Time, at time.Time) {
	if t.IsZero() {
		*t = at
	}
	*t = dbTime(*t)
}

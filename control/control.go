// Package control is CodePod's control plane: it owns the sandbox lifecycle,
// placement on runners, the runner job queue (leases, long-poll wake-ups,
// results applied once), reconciliation, offline detection and the TTL
// reaper. It works on a codepod.Store and knows nothing of HTTP.
//
// The database is the only state. A Service keeps nothing that another
// Service on the same database could not rebuild: the in-process Hub and the
// lease watch only make waiting polls answer sooner, and every poll claims
// from the database when its wait ends.
//
// Sandbox statuses move by the rules of codepod.Transition, the one place
// they are written (docs/architecture.md shows them as a table). This
// package feeds it events — user actions, placement, leases, job results,
// reconcile, runner loss and deletion, TTL expiry — and applies each as
// read → Transition → one conditional write on the sandbox's version,
// retried when another writer got there first (see apply).
package control

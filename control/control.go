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
// Sandbox statuses move like this (jobs in brackets):
//
//	pending ─[create leased]→ creating ─[create ok]→ running ─[stop]→ stopping → stopped
//	stopped|error ─[start]→ starting → running
//	any live ─[delete]→ deleting → deleted (at once when never placed)
//	running|stopped|creating|starting|stopping ─(runner offline)→ lost ─(reconcile)→ running|stopped
//	a failed job → error (the runner's message as reason)
package control

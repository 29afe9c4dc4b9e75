// Package runner is CodePod's runner: a process next to a Docker Engine that
// registers once with a CodePod server, long-polls it for jobs over plain
// HTTPS (it only ever dials out, so it works behind NAT and HTTP proxies),
// runs those jobs against a Backend (package runner/docker in production) and
// reports their results.
//
// The runner speaks to the server only through the JSON messages of package
// wire; it never imports the server's packages.
//
// Its contract with the server, as the runner keeps it:
//
//   - Registration happens once. The credential lands in
//     <StateDir>/runner.json (0600, directory 0700); a restart with the same
//     state directory resumes the same runner identity.
//   - Every poll carries the heartbeat (capacity). The first poll after start
//     and one every ReconcileInterval also carry the full inventory of the
//     containers labelled with this runner's id (Reconcile=true).
//   - A poll is held by the server for up to PollWait; the HTTP request's own
//     deadline is PollWait plus a margin, so a healthy hold never times out.
//   - When the server is away, the runner retries with jittered exponential
//     backoff (capped at MaxBackoff) and recovers by itself.
//   - Jobs run concurrently (at most Concurrency at once); jobs for the same
//     sandbox run one after the other, in the order they arrived. A job that
//     is waiting or running extends its lease with progress reports.
//   - A result is reported with retries on network errors, under a context of
//     its own (ReportTimeout), so a job that finishes while the runner shuts
//     down still gets its result to the server.
//   - On shutdown (Run's context ends) the runner stops polling, drops jobs
//     that have not started (their leases expire and the server delivers them
//     again), gives running jobs ShutdownGrace to finish and report, then
//     cancels them without reporting, so the next delivery redoes them.
//     Every handler is idempotent by sandbox id, which makes that safe.
package runner

// Package e2e holds in-process end-to-end tests of the exec, files and
// tunnel paths: a real API server on 127.0.0.1 with SQLite, a real runner
// on the local Docker Engine with the codepod/tiny image, and the real
// agent binary in the sandbox. It has no code of its own; see e2e_test.go.
//
// (cmd/codepod's end-to-end tests drive the same paths through the built
// binaries and the CLI; these tests stay in one process so they can check
// for leaked goroutines and measure latency without process noise.)
package e2e

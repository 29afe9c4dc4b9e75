// Package codepod holds CodePod's domain: the nouns (users, sandboxes,
// runners, jobs), their states, the errors every layer speaks, and the
// Store interface the server is written against.
//
// It imports no SQL, Docker or HTTP. Adapters live in their own packages
// (store for bun, runner/docker for the Docker Engine, api for HTTP) and
// only cmd/ wires them together.
package codepod

// Package kernel runs code contexts inside a sandbox: a persistent
// interpreter per context (python3, node or bash) driven by a small script
// embedded in the agent, speaking a line protocol named after Jupyter's
// messages (execute_request, execute_result, display_data, error,
// execute_reply). docs/code.md describes the protocol and the limits.
//
// The agent serves a Manager on the SSH subsystem "codepod-code": one JSON
// Request line in, one JSON Reply line out. The package imports nothing of
// the server; the server's gateway uses its message types.
package kernel

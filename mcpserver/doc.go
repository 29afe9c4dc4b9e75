// Package mcpserver serves the Model Context Protocol over Streamable HTTP
// (the official Go SDK) at /mcp. Every tool is a call of the server's own
// REST API made in-process with the caller's Authorization header, so a
// tool's authentication, ownership checks, limits and error messages are
// exactly those of the REST route it wraps; the package imports nothing of
// the server but the handler it is given.
//
// Adding a tool for a REST route is one addTool call in tools.go: an input
// struct (its jsonschema tags describe the arguments), an output struct,
// and a function that turns the input into a REST request.
package mcpserver

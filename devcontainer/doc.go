// Package devcontainer reads a project's devcontainer.json (containers.dev)
// into a typed Config: finding the file like the reference tooling
// (@devcontainers/cli), parsing JSON with comments and trailing commas,
// substituting ${...} variables, and checking a Policy that refuses
// properties which would reach past the sandbox (privileged, capAdd,
// securityOpt, runArgs, host bind mounts, initializeCommand).
//
// The package is a leaf: it imports nothing of CodePod, so the CLI, the
// server and the runner share it. It does no I/O beyond reading the config
// file and listing the folders Find looks in.
package devcontainer

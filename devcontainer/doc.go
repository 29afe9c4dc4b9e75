// Package devcontainer reads a project's devcontainer.json (containers.dev)
// into a typed Config: finding the file like the reference tooling
// (@devcontainers/cli), parsing JSON with comments and trailing commas,
// substituting ${...} variables, and checking a Policy that refuses
// properties which would reach past the sandbox (privileged, capAdd,
// securityOpt, runArgs, host bind mounts, initializeCommand).
//
// For a create, ResolveFeatures reads local features and fetches OCI ones
// (devcontainer/oci.FeatureFetcher, cached by digest, pinned by devcontainer-lock.json)
// (devcontainer-feature.json: options, order, containerEnv, and the
// properties the Policy checks), PlanBuild packs the build context
// (honouring .dockerignore) with the features' folders, and PackWorkspace
// packs the project for workspaceFolder; the client uploads those tars.
//
// The package is a leaf: it imports nothing of CodePod, so the CLI, the
// server, the runner and the Go SDK share it. Its I/O is reading the
// project's files, writing the tars to temporary files, fetching OCI
// features from their registries into the user's cache, and updating an
// existing devcontainer-lock.json.
package devcontainer

// Package sdktest starts a real CodePod cluster for the SDKs' tests: the
// codepod and codepod-agent binaries built from this tree, `codepod server`
// on a free loopback port with SQLite in a temporary directory, and one
// `codepod runner` on the local Docker Engine. Nothing is mocked: the SDKs'
// suites talk HTTP and WebSocket to the real server, which drives real
// containers of the image codepod/tiny:latest.
//
// StartCluster is for a test; Main is for a TestMain whose Example functions
// need a server too. Both clean up every sandbox the cluster made.
package sdktest

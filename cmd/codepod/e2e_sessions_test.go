package main_test

import (
	"testing"
)

// TestSessionsE2E is issue 5's "done means" on one server, one runner on
// the real Docker Engine and one codepod/tiny sandbox (busybox), all real
// processes: OpenSSH through `codepod ssh-proxy`, scp and sftp, `sandbox
// exec`, `cp`, `port-forward` and `logs`, the REST exec under load and the
// browser terminal's WebSocket. The subtests share the sandbox.
// longRunnerTimeout keeps an idle runner online: it asks the server to
// hold each poll 25 s, and the harness's default --runner-timeout of 5 s
// would mark it offline (and its sandboxes lost) in the middle of one.
var longRunnerTimeout = []string{"--runner-timeout", "60s"}

func TestSessionsE2E(t *testing.T) {
	c := newCluster(t, longRunnerTimeout...)
	c.startRunner("r1", t.TempDir())
	c.must("sandbox", "create", "box", "--image", "codepod/tiny:latest", "--wait", "--timeout", "60s")

	t.Run("OpenSSH", func(t *testing.T) {
		s := newSSHSetup(t, c, "box")
		t.Run("exit status and PTY", func(t *testing.T) { testOpenSSHExec(t, s) })
		t.Run("tampered known_hosts is refused", func(t *testing.T) { testOpenSSHTamperedHostKey(t, s) })
		t.Run("scp and sftp 20 MB both ways", func(t *testing.T) { testSCPAndSFTP(t, s) })
	})
	t.Run("exec exit codes and binary streams", func(t *testing.T) { testCLIExec(t, c, "box") })
	t.Run("cp directory tree round trip", func(t *testing.T) { testCLICpTree(t, c, "box") })
	t.Run("port-forward to httpd", func(t *testing.T) { testPortForward(t, c, "box") })
	t.Run("50 concurrent REST execs", func(t *testing.T) { testRESTExecConcurrent(t, c, "box") })
	t.Run("REST exec details", func(t *testing.T) { testRESTExecDetails(t, c, "box") })
	t.Run("streaming exec WebSocket", func(t *testing.T) { testExecStream(t, c, "box") })
	t.Run("files API", func(t *testing.T) { testFilesAPI(t, c, "box") })
	t.Run("pty WebSocket", func(t *testing.T) { testPTYWebSocket(t, c, "box") })
	t.Run("logs of the image command", func(t *testing.T) { testLogs(t, c) })
}

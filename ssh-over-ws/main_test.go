package sshws_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// A child process of TestDefaultClientProxyFromEnvironment: its
		// environment is set before anything reads it.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

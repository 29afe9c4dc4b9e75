// Package httpclient builds the *http.Client every CodePod program that dials
// a CodePod server uses (runner, CLI): it honours HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY, and trusts an extra CA bundle (CODEPOD_CA_FILE) on top of the
// system roots, so a server behind a private CA or a corporate proxy is
// reachable without touching the host's trust store.
package httpclient

import (
	"net"
	"net/http"
	"os"
	"time"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// CAFileEnv names the environment variable with an extra PEM CA bundle.
const CAFileEnv = "CODEPOD_CA_FILE"

// New returns a client that uses the proxy from the environment and trusts
// the PEM certificates in caFile in addition to the system roots ("" adds
// none). It sets no overall timeout: callers bound each request with a
// context, because a long-poll legitimately lasts tens of seconds.
func New(caFile string) (*http.Client, error) {
	tr, err := Transport(caFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: tr}, nil
}

// FromEnv is New with the CA bundle named by CODEPOD_CA_FILE.
func FromEnv() (*http.Client, error) { return New(os.Getenv(CAFileEnv)) }

// Transport is the transport New uses, for callers that wrap it.
func Transport(caFile string) (*http.Transport, error) {
	tlsCfg, err := sshws.TLSConfigWithCA(caFile)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 0, // a long-poll holds the headers back on purpose
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		// HTTP/1.1 only: the same client dials WebSocket tunnels, whose
		// upgrade does not exist in HTTP/2.
		ForceAttemptHTTP2: false,
	}, nil
}

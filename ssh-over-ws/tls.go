package sshws

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// TLSConfigWithCA returns a client TLS configuration that trusts the
// certificates in the PEM file caFile in addition to the system's roots
// (CodePod's clients pass CODEPOD_CA_FILE here). An empty caFile gives
// the system roots alone.
func TLSConfigWithCA(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle %s: %w", caFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// NewHTTPClient returns an HTTP client for CodePod's API and tunnels: its
// transport takes its proxy from the environment (HTTPS_PROXY,
// HTTP_PROXY, NO_PROXY; never for localhost or loopback addresses) and
// trusts caFile as TLSConfigWithCA does. It has no overall timeout, since
// it carries long streams; bound each request with its context.
func NewHTTPClient(caFile string) (*http.Client, error) {
	cfg, err := TLSConfigWithCA(caFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.TLSClientConfig = cfg
	// HTTP/1.1 only: a WebSocket upgrade does not exist in HTTP/2, and a
	// front end that offers h2 would otherwise win the ALPN negotiation.
	tr.ForceAttemptHTTP2 = false
	return &http.Client{Transport: tr}, nil
}

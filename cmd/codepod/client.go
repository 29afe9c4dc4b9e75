package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/codepod-dev/codepod/client"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// apiClient is the CLI's connection to a server: the generated client plus
// what the hand-written commands (tunnel, streams) need.
type apiClient struct {
	*client.ClientWithResponses
	ServerURL string
	APIKey    string
	Workspace string // the Codepod-Workspace header every request sends ("": none)
	HTTP      *http.Client
}

// newAPIClient reads the settings (environment beats the config file) and
// builds a client that honours CODEPOD_CA_FILE and the proxy variables.
func newAPIClient(needKey bool) (*apiClient, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	serverURL, _ := cfg.get("SERVER_URL")
	key, _ := cfg.get("API_KEY")
	workspace, _ := cfg.get("WORKSPACE")
	if needKey && key == "" {
		return nil, errors.New("no API key: run `codepod login`, or `codepod config set API_KEY cpk_…`, or set CODEPOD_API_KEY")
	}
	hc, err := sshws.NewHTTPClient(os.Getenv("CODEPOD_CA_FILE"))
	if err != nil {
		return nil, fmt.Errorf("CODEPOD_CA_FILE: %w", err)
	}
	serverURL = strings.TrimRight(serverURL, "/")
	c, err := client.NewClientWithResponses(serverURL, client.WithHTTPClient(hc),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			if key != "" {
				r.Header.Set("Authorization", "Bearer "+key)
			}
			r.Header.Set("User-Agent", "codepod-cli")
			if workspace != "" {
				r.Header.Set("Codepod-Workspace", workspace)
			}
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", serverURL, err)
	}
	return &apiClient{ClientWithResponses: c, ServerURL: serverURL, APIKey: key, Workspace: workspace, HTTP: hc}, nil
}

// problem is an RFC 9457 problem document as the server sends it.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

// response is what every generated *…Response has. The generated client
// returns a nil one with a transport error, so check reads it only when
// err is nil.
type response interface {
	StatusCode() int
	GetBody() []byte
}

// check turns a transport error or a non-2xx answer into an error a user can
// act on: the problem's detail, its field errors, and the HTTP status.
func (c *apiClient) check(err error, r response) error {
	if err != nil {
		return fmt.Errorf("cannot reach the CodePod server at %s: %w", c.ServerURL, err)
	}
	if code := r.StatusCode(); code >= 300 {
		return problemError(code, r.GetBody())
	}
	return nil
}

func problemError(status int, body []byte) error {
	var p problem
	if json.Unmarshal(body, &p) != nil || (p.Detail == "" && p.Title == "") {
		return fmt.Errorf("server answered %d %s", status, http.StatusText(status))
	}
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	for _, e := range p.Errors {
		msg += fmt.Sprintf("\n  %s: %s", strings.TrimPrefix(e.Location, "body."), e.Message)
	}
	return fmt.Errorf("%s (HTTP %d)", msg, status)
}

// headers are the credential and workspace headers of a request the
// generated client does not make (WebSockets).
func (c *apiClient) headers() http.Header {
	h := http.Header{"Authorization": {"Bearer " + c.APIKey}}
	if c.Workspace != "" {
		h.Set("Codepod-Workspace", c.Workspace)
	}
	return h
}

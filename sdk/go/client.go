package codepod

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/codepod-dev/codepod/client"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// DefaultServerURL is the server a Client talks to when neither an option
// nor CODEPOD_SERVER_URL names one.
const DefaultServerURL = "http://localhost:3000"

// userAgent identifies the SDK in the server's logs.
const userAgent = "codepod-sdk-go"

// Client is a connection to one CodePod server, safe for concurrent use.
type Client struct {
	serverURL string
	apiKey    string
	workspace string
	http      *http.Client
	api       *client.ClientWithResponses
}

// Option configures NewClient.
type Option func(*options)

type options struct {
	serverURL, apiKey, caFile string
	workspace                 string
	httpClient                *http.Client
}

// WithServerURL sets the server's URL, e.g. https://codepod.example.com
// (default: CODEPOD_SERVER_URL, else SERVER_URL in the CLI's config file,
// else DefaultServerURL).
func WithServerURL(url string) Option { return func(o *options) { o.serverURL = url } }

// WithAPIKey sets the API key sent as a bearer token (default:
// CODEPOD_API_KEY, else API_KEY in the CLI's config file).
func WithAPIKey(key string) Option { return func(o *options) { o.apiKey = key } }

// WithWorkspace makes every request act in workspace ws (its id or name),
// sent as the Codepod-Workspace header (default: CODEPOD_WORKSPACE, else
// WORKSPACE in the CLI's config file, which `codepod workspace use`
// writes; none: the personal workspace). A key made in a workspace acts
// only in that one. See docs/workspaces.md.
func WithWorkspace(ws string) Option { return func(o *options) { o.workspace = ws } }

// WithHTTPClient makes the client send its requests, and open its
// WebSockets, through hc. Without it the client builds one that honours the
// proxy variables and CODEPOD_CA_FILE. hc must not have an overall Timeout
// shorter than your longest command: bound calls with their context.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.httpClient = hc } }

// NewClient returns a client configured from its options and, for what
// they leave out, from CODEPOD_SERVER_URL, CODEPOD_API_KEY and
// CODEPOD_CA_FILE, then, as gh and kubectl do, from the CLI's config file
// (SERVER_URL and API_KEY, which `codepod config set` writes; see
// ConfigPath). It makes no request.
func NewClient(opts ...Option) (*Client, error) {
	o := options{
		serverURL: os.Getenv("CODEPOD_SERVER_URL"),
		apiKey:    os.Getenv("CODEPOD_API_KEY"),
		caFile:    os.Getenv("CODEPOD_CA_FILE"),
		workspace: os.Getenv("CODEPOD_WORKSPACE"),
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.serverURL != "" && o.apiKey != "" && o.workspace == "" {
		// Explicit settings need no file: a broken one only loses WORKSPACE.
		if file, err := cliConfig(); err == nil {
			o.workspace = file["WORKSPACE"]
		}
	} else if o.serverURL == "" || o.apiKey == "" {
		file, err := cliConfig()
		if err != nil {
			return nil, fmt.Errorf("codepod: %w", err)
		}
		if o.serverURL == "" {
			o.serverURL = file["SERVER_URL"]
		}
		if o.apiKey == "" {
			o.apiKey = file["API_KEY"]
		}
		if o.workspace == "" {
			o.workspace = file["WORKSPACE"]
		}
	}
	if o.serverURL == "" {
		o.serverURL = DefaultServerURL
	}
	if o.apiKey == "" {
		p, _ := ConfigPath()
		return nil, fmt.Errorf("codepod: no API key: pass WithAPIKey, set CODEPOD_API_KEY, or run `codepod config set API_KEY <key>` (which writes %s)", p)
	}
	if o.httpClient == nil {
		hc, err := sshws.NewHTTPClient(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("codepod: CODEPOD_CA_FILE: %w", err)
		}
		o.httpClient = hc
	}
	c := &Client{serverURL: strings.TrimRight(o.serverURL, "/"), apiKey: o.apiKey, workspace: o.workspace, http: o.httpClient}
	api, err := client.NewClientWithResponses(c.serverURL, client.WithHTTPClient(c.http),
		client.WithRequestEditorFn(c.authorize))
	if err != nil {
		return nil, fmt.Errorf("codepod: server URL %q: %w", c.serverURL, err)
	}
	c.api = api
	return c, nil
}

// authorize adds the credential and the user agent to a request.
func (c *Client) authorize(_ context.Context, r *http.Request) error {
	r.Header.Set("Authorization", "Bearer "+c.apiKey)
	r.Header.Set("User-Agent", userAgent)
	if c.workspace != "" {
		r.Header.Set("Codepod-Workspace", c.workspace)
	}
	return nil
}

// ServerURL is the server the client talks to, without a trailing slash.
func (c *Client) ServerURL() string { return c.serverURL }

// API returns the generated client, authenticated like c, for operations
// this package does not wrap. Its answers are raw: check their status.
func (c *Client) API() *client.ClientWithResponses { return c.api }

package mcpserver

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Path is where the server mounts the handler.
const Path = "/mcp"

// Defaults of Config.
const (
	DefaultMaxRequestBytes = 8 << 20
	DefaultReadFileBytes   = 1 << 20
	DefaultExecOutputBytes = 256 << 10
)

// Config bounds what one MCP request may ask for; zero fields take the
// defaults above.
type Config struct {
	// MaxRequestBytes bounds an MCP request's body (a write_file's content
	// travels in it); a larger one is refused with 413.
	MaxRequestBytes int64
	// ReadFileBytes is the most read_file returns of a file (more is cut
	// and truncated set).
	ReadFileBytes int64
	// ExecOutputBytes is exec's default max_output_bytes per stream; a
	// call may ask for up to the REST limit.
	ExecOutputBytes int64
	Logger          *slog.Logger // nil: no MCP transport logs
	Version         string
}

// Handler serves MCP at Path. It holds no sessions: the transport runs
// stateless, so every request stands alone (and may reach any replica), is
// authenticated by its own Authorization header, and nothing waits on the
// server for an idle client.
type Handler struct {
	cfg  Config
	rest *http.Client // the REST API, served in-process
	api  http.Handler
	mcp  http.Handler
}

// New returns the MCP handler whose tools call rest, the server's own REST
// handler.
func New(rest http.Handler, cfg Config) *Handler {
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.ReadFileBytes <= 0 {
		cfg.ReadFileBytes = DefaultReadFileBytes
	}
	if cfg.ExecOutputBytes <= 0 {
		cfg.ExecOutputBytes = DefaultExecOutputBytes
	}
	h := &Handler{cfg: cfg, api: rest, rest: &http.Client{Transport: inProcess{rest}}}
	srv := mcp.NewServer(&mcp.Implementation{Name: "codepod", Title: "CodePod", Version: cfg.Version}, &mcp.ServerOptions{
		Instructions: "CodePod runs disposable Linux sandboxes. Create one with create_sandbox, run commands with exec, " +
			"move files with write_file/read_file/list_files, and delete it with delete_sandbox when done.",
	})
	h.addTools(srv)
	h.mcp = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		Stateless:           true,
		JSONResponse:        true,
		Logger:              cfg.Logger,
		MaxRequestBodyBytes: cfg.MaxRequestBytes,
		// Requests carry an API key in a header, never a cookie: a page
		// that rebinds DNS to the server cannot send it, and behind a
		// reverse proxy on the same host every request arrives from
		// loopback with the public Host.
		DisableLocalhostProtection: true,
	})
	return h
}

// ServeHTTP authenticates the request as the REST API does (the same
// answer to a missing or bad key: 401 problem with a Bearer challenge, and
// the same limits on failures), then serves MCP.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://"+internalHost+"/api/v1/me", nil)
	req.RemoteAddr = r.RemoteAddr
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := h.rest.Do(req)
	if err != nil {
		http.Error(w, "authenticate: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		relayRefusal(w, resp, r.URL.Path)
		return
	}
	io.Copy(io.Discard, resp.Body)
	r.Header.Set(remoteHeader, r.RemoteAddr)
	h.mcp.ServeHTTP(w, r)
}

// who is the caller of a tool call.
func who(req *mcp.CallToolRequest) caller {
	if req.Extra == nil || req.Extra.Header == nil {
		return caller{}
	}
	return caller{auth: req.Extra.Header.Get("Authorization"), remote: req.Extra.Header.Get(remoteHeader)}
}

// relayRefusal answers the REST API's refusal of the caller (401, 403, 429
// with its headers) as the answer to the MCP request at path.
func relayRefusal(w http.ResponseWriter, resp *http.Response, path string) {
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p map[string]any
	if json.Unmarshal(body, &p) == nil && p["instance"] != nil {
		p["instance"] = path
		body, _ = json.Marshal(p)
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

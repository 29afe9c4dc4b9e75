package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
)

// specVersion is the version of the API description (info.version). It is
// not the build version, so the committed openapi.yaml does not change with
// every release.
const specVersion = "1.0.0"

// Security scheme names, as the OpenAPI spec names them.
const (
	schemeAPIKey       = "apiKey"
	schemeRunner       = "runner"
	schemeRegistration = "registrationToken"
)

// OpenAPI returns the API's OpenAPI 3.1 description, built from the same
// registrations as a serving server but with no store or control behind it.
func OpenAPI() *huma.OpenAPI {
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return s.api.OpenAPI()
}

// SpecYAML returns the OpenAPI description downgraded to OpenAPI 3.0.3, the
// form committed as openapi.yaml and served on /openapi.yaml.
func SpecYAML() ([]byte, error) {
	b, err := OpenAPI().DowngradeYAML()
	if err != nil {
		return nil, fmt.Errorf("render openapi yaml: %w", err)
	}
	return b, nil
}

// newHumaAPI makes the Huma API on r and registers every operation. It
// drops Huma's schema-link transformer (no "$schema" property or Link
// headers leak into clients) and its CDN-backed docs page.
func newHumaAPI(r chi.Router, s *Server) huma.API {
	cfg := huma.DefaultConfig("CodePod API", specVersion)
	cfg.CreateHooks = nil
	cfg.OpenAPIPath, cfg.DocsPath, cfg.SchemasPath = "", "", ""
	cfg.Info.Description = "CodePod's REST API: sandboxes, runners, users and credentials. " +
		"Every operation under /api/v1 needs `Authorization: Bearer <API key>` unless it says otherwise. " +
		"Errors are RFC 9457 problem documents; request bodies reject unknown properties."
	cfg.Components.SecuritySchemes = securitySchemes()
	cfg.Tags = tags()
	cfg.Transformers = []huma.Transformer{s.transformProblem}
	api := humachi.New(r, cfg)
	api.UseMiddleware(s.authMiddleware(api))
	api.UseMiddleware(s.auditMiddleware(api)) // after auth: it records who called (audit.go)

	registerHealth(api, s)
	registerAuth(api, s)
	registerWebSession(api, s)
	registerUsers(api, s)
	registerAPIKeys(api, s)
	registerSSHKeys(api, s)
	registerWebhooks(api, s)
	registerWorkspaces(api, s)
	registerRunnerTokens(api, s)
	registerRunners(api, s)
	registerSandboxes(api, s)
	registerBlobs(api, s)
	registerEvents(api, s)
	registerSSHTokens(api, s)
	registerExec(api, s)
	registerProcesses(api, s)
	registerFiles(api, s)
	registerCode(api, s)
	registerTunnels(api, s)
	registerPTY(api, s)
	registerRunnerProtocol(api, s)
	registerRunnerBinary(api, s)
	registerAudit(api, s)
	return api
}

func securitySchemes() map[string]*huma.SecurityScheme {
	return map[string]*huma.SecurityScheme{
		schemeAPIKey: {
			Type: "http", Scheme: "bearer", BearerFormat: "cpk_<id>_<secret>",
			Description: "A user's API key (`codepod api-key create`, or the token from /auth/login).",
		},
		schemeRunner: {
			Type: "http", Scheme: "bearer", BearerFormat: "cpr_<id>_<secret>",
			Description: "A runner's own credential, returned once by /runners/register.",
		},
		schemeRegistration: {
			Type: "http", Scheme: "bearer", BearerFormat: "cpt_<id>_<secret>",
			Description: "A runner registration token minted by an admin (`codepod runner-token create`).",
		},
	}
}

func tags() []*huma.Tag {
	return []*huma.Tag{
		{Name: "sandboxes", Description: "Isolated Linux boxes and their lifecycle."},
		{Name: "exec", Description: "Running commands and terminals in a running sandbox."},
		{Name: "files", Description: "Reading and writing a running sandbox's files (SFTP underneath)."},
		{Name: "auth", Description: "Login and the caller's identity."},
		{Name: "users", Description: "User accounts (admin)."},
		{Name: "api-keys", Description: "The caller's API keys."},
		{Name: "ssh-keys", Description: "SSH public keys authorized in all of the caller's sandboxes."},
		{Name: "runner-tokens", Description: "Registration tokens for new runners (admin)."},
		{Name: "runners", Description: "Machines that run sandboxes (admin)."},
		{Name: "runner-protocol", Description: "What runners call: register, poll for jobs, report progress and results."},
		{Name: "system", Description: "Health and readiness."},
	}
}

// specDocs is the rendered spec the server serves.
type specDocs struct {
	yaml, json []byte
}

func mustSpecDocs(o *huma.OpenAPI) specDocs {
	y, err := o.DowngradeYAML()
	if err != nil {
		panic(fmt.Sprintf("render openapi yaml: %v", err))
	}
	j, err := o.Downgrade()
	if err != nil {
		panic(fmt.Sprintf("render openapi json: %v", err))
	}
	return specDocs{yaml: y, json: j}
}

func (specDocs) serve(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}
}

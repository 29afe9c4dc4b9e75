package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// sessionToken is the API key in the web session's cookie, if any.
func sessionToken(ctx huma.Context) (string, bool) {
	for _, c := range huma.ReadCookies(ctx) {
		if c.Name == SessionCookie && c.Value != "" {
			return c.Value, true
		}
	}
	return "", false
}

// csrfGuard refuses cross-site use of the web session. It looks only at
// requests without an Authorization header (API clients are unaffected)
// that carry the session cookie or open a session:
//   - a browser's Sec-Fetch-Site other than same-origin or none, or an
//     Origin that is not this server, is refused (this covers WebSocket
//     upgrades, which cannot carry a custom header);
//   - a request that changes something (not GET, HEAD or OPTIONS) with the
//     cookie must carry the session's CSRF token in X-CSRF-Token.
func (s *Server) csrfGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		c, _ := r.Cookie(SessionCookie)
		opening := r.URL.Path == Prefix+"/auth/session" && r.Method == http.MethodPost
		if (c == nil || c.Value == "") && !opening {
			next.ServeHTTP(w, r)
			return
		}
		if why := crossSite(r); why != "" {
			writeProblem(w, r, http.StatusForbidden, why+"; the web UI's session works only from its own pages (API clients send Authorization: Bearer)")
			return
		}
		if c != nil && c.Value != "" && !opening && !safeMethod(r.Method) && !csrfOK(c.Value, r.Header.Get(CSRFHeader)) {
			writeProblem(w, r, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header for this session; reload the page (API clients send Authorization: Bearer)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossSite says why r comes from another site, or "" when it does not.
func crossSite(r *http.Request) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return "a " + site + " request"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return "a request from origin " + o
		}
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

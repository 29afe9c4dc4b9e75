package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/api"
)

// sessionReq is a request as the web UI's page sends it: the session
// cookie, same-origin, and the CSRF token when csrf is not "".
func (e *env) sessionReq(method, path, cookie, csrf string, body string) *resp {
	e.tb.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: cookie})
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", e.srv.URL)
	if csrf != "" {
		req.Header.Set(api.CSRFHeader, csrf)
	}
	return e.send(req)
}

// openSession signs in through POST /auth/session and returns the cookie's
// value and the CSRF token.
func (e *env) openSession(body map[string]any) (string, string) {
	e.tb.Helper()
	r := e.do("POST", "/api/v1/auth/session", "", body).want(e.tb, http.StatusOK)
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		e.tb.Fatalf("session cookie %+v; want HttpOnly, SameSite=Strict, Path=/", cookie)
	}
	if cookie.Secure {
		e.tb.Errorf("a session over plain HTTP got a Secure cookie")
	}
	if strings.Contains(string(r.Body), cookie.Value) {
		e.tb.Errorf("the session's key is in the response body; only the cookie may carry it")
	}
	var s struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.decode(e.tb, &s)
	return cookie.Value, s.CSRFToken
}

func TestWebSession(t *testing.T) {
	e := newEnv(t)
	e.newUser("web@example.com", false)

	t.Run("wrong password", func(t *testing.T) {
		wantProblem(t, e.do("POST", "/api/v1/auth/session", "", map[string]any{"email": "web@example.com", "password": "nope"}), http.StatusUnauthorized)
	})
	t.Run("bad key", func(t *testing.T) {
		wantProblem(t, e.do("POST", "/api/v1/auth/session", "", map[string]any{"api_key": "cpk_nope"}), http.StatusUnauthorized)
	})
	t.Run("neither", func(t *testing.T) {
		wantProblem(t, e.do("POST", "/api/v1/auth/session", "", map[string]any{}), http.StatusUnprocessableEntity)
	})

	cookie, csrf := e.openSession(map[string]any{"email": "web@example.com", "password": "correct horse battery"})
	if csrf == "" {
		t.Fatal("no CSRF token")
	}
	t.Run("reads with the cookie", func(t *testing.T) {
		r := e.sessionReq("GET", "/api/v1/auth/session", cookie, "", "").want(t, http.StatusOK)
		if got := r.JSON["csrf_token"]; got != csrf {
			t.Errorf("get-session CSRF token %v, want %s", got, csrf)
		}
		if u, _ := r.JSON["user"].(map[string]any); u["email"] != "web@example.com" {
			t.Errorf("get-session user %v", r.JSON["user"])
		}
	})
	t.Run("writes need the CSRF token", func(t *testing.T) {
		body := `{"name":"k1"}`
		wantProblem(t, e.sessionReq("POST", "/api/v1/api-keys", cookie, "", body), http.StatusForbidden)
		wantProblem(t, e.sessionReq("POST", "/api/v1/api-keys", cookie, "0123", body), http.StatusForbidden)
		e.sessionReq("POST", "/api/v1/api-keys", cookie, csrf, body).want(t, http.StatusCreated)
	})
	t.Run("cross-site requests are refused", func(t *testing.T) {
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site"},
			{"Origin": "https://evil.example"},
		} {
			for _, m := range []string{"GET", "POST"} {
				req, _ := http.NewRequest(m, e.srv.URL+"/api/v1/api-keys", strings.NewReader(`{"name":"x"}`))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: cookie})
				req.Header.Set(api.CSRFHeader, csrf) // even with the token
				for k, v := range h {
					req.Header.Set(k, v)
				}
				wantProblem(t, e.send(req), http.StatusForbidden)
			}
		}
		// Opening a session from another site (login CSRF) too.
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/auth/session", strings.NewReader(`{"api_key":"`+e.adminKey+`"}`))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		wantProblem(t, e.send(req), http.StatusForbidden)
	})
	t.Run("API clients are unaffected", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/api-keys", strings.NewReader(`{"name":"k2"}`))
		req.Header.Set("Authorization", "Bearer "+e.adminKey)
		req.Header.Set("Origin", "https://elsewhere.example")
		e.send(req).want(t, http.StatusCreated)
	})
	t.Run("sign-out ends the session on the server", func(t *testing.T) {
		wantProblem(t, e.sessionReq("DELETE", "/api/v1/auth/session", cookie, "", ""), http.StatusForbidden)
		r := e.sessionReq("DELETE", "/api/v1/auth/session", cookie, csrf, "").want(t, http.StatusNoContent)
		if !strings.Contains(r.Header.Get("Set-Cookie"), api.SessionCookie+"=;") {
			t.Errorf("sign-out did not clear the cookie: %q", r.Header.Get("Set-Cookie"))
		}
		wantProblem(t, e.sessionReq("GET", "/api/v1/auth/session", cookie, "", ""), http.StatusUnauthorized)
		wantProblem(t, e.do("GET", "/api/v1/me", cookie, nil), http.StatusUnauthorized)
	})
	t.Run("an API key opens a session of its own", func(t *testing.T) {
		c2, _ := e.openSession(map[string]any{"api_key": e.adminKey})
		if c2 == e.adminKey {
			t.Fatal("the session reuses the key it was opened with")
		}
		e.sessionReq("GET", "/api/v1/me", c2, "", "").want(t, http.StatusOK)
	})
}

// TestWebSessionSecureOnTLS: over TLS the session cookie is Secure.
func TestWebSessionSecureOnTLS(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewTLSServer(e.srv.Config.Handler)
	defer ts.Close()
	res, err := ts.Client().Post(ts.URL+"/api/v1/auth/session", "application/json", strings.NewReader(`{"api_key":"`+e.adminKey+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 || !res.Cookies()[0].Secure || !res.Cookies()[0].HttpOnly {
		t.Fatalf("over TLS: %d, cookies %v; want one Secure HttpOnly cookie", res.StatusCode, res.Cookies())
	}
}

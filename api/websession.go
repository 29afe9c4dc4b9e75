package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// The web UI's session: a browser signs in (email and password, or an API
// key) and gets an HttpOnly, SameSite=Strict cookie holding a new API key
// named "web session". The key is the server-side session: it is listed
// with the user's keys, revocable like any key, and deleted by sign-out.
// The page's scripts never see it; they get a CSRF token derived from it
// (csrfToken), which they send as X-CSRF-Token on every state-changing
// request (csrfGuard checks it).

// SessionCookie is the name of the web UI's session cookie.
const SessionCookie = "codepod_session"

// CSRFHeader carries the session's CSRF token on state-changing requests
// authenticated by the cookie.
const CSRFHeader = "X-CSRF-Token"

// sessionTTL is how long a web session lasts.
const sessionTTL = 7 * 24 * time.Hour

// sessionKeyName names the API key behind a web session.
const sessionKeyName = "web session"

// csrfToken is the CSRF token of the session whose cookie holds key: only
// the server and the page the session was opened for know it.
func csrfToken(key string) string {
	sum := sha256.Sum256([]byte("codepod-csrf\x00" + key))
	return hex.EncodeToString(sum[:16])
}

func csrfOK(key, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(csrfToken(key)), []byte(got)) == 1
}

// SessionRequest opens a web session: either email and password, or an
// API key.
type SessionRequest struct {
	Email    string `json:"email,omitempty" maxLength:"254" doc:"The account's email (with password)."`
	Password string `json:"password,omitempty" maxLength:"1024" doc:"The account's password (with email)."`
	APIKey   string `json:"api_key,omitempty" maxLength:"256" doc:"An API key of the account, instead of email and password; the session gets a key of its own."`
}

// Session is the signed-in user of a web session and its CSRF token.
type Session struct {
	User      User      `json:"user"`
	CSRFToken string    `json:"csrf_token" doc:"Send as X-CSRF-Token with every request that changes something."`
	ExpiresAt time.Time `json:"expires_at,omitempty" doc:"When the session ends."`
}

type sessionInput struct {
	Body SessionRequest
}

type sessionOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      Session
}

type sessionEndOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

type sessionGetInput struct {
	Cookie string `cookie:"codepod_session" doc:"The session cookie (set by POST /auth/session)."`
}

type sessionGetOutput struct {
	Body Session
}

func registerWebSession(api huma.API, s *Server) {
	op := s.operation(public, http.MethodPost, "/auth/session", "create-session", "auth",
		"Sign in to the web UI", http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests)
	register(api, s, describe(op, "Opens a browser session from an email and password or an API key: sets an HttpOnly, "+
		"SameSite=Strict cookie (Secure over TLS) holding a new API key named \"web session\" (7 days), and answers with "+
		"the CSRF token the page must send as X-CSRF-Token on every request that changes something. API clients do not need it."), s.createSession)

	op = s.operation(userOnly, http.MethodGet, "/auth/session", "get-session", "auth", "The web UI's session")
	register(api, s, describe(op, "The signed-in user and the session's CSRF token (the page asks after a reload)."), s.getSession)

	op = s.operation(userOnly, http.MethodDelete, "/auth/session", "delete-session", "auth", "Sign out of the web UI")
	register(api, s, describe(op, "Deletes the session's key on the server (ending its terminals) and clears the cookie."), s.deleteSession)
}

func (s *Server) createSession(ctx context.Context, in *sessionInput) (*sessionOutput, error) {
	var u *codepod.User
	var err error
	switch b := in.Body; {
	case b.APIKey != "":
		u, err = s.checkSessionKey(ctx, b.APIKey)
	case b.Email != "" && b.Password != "":
		u, err = s.checkLogin(ctx, b.Email, b.Password)
	default:
		err = codepod.Errorf(codepod.EINVALID, "sign in with email and password, or with api_key")
	}
	if err != nil {
		return nil, err
	}
	exp := s.now().Add(sessionTTL)
	k, err := s.createAPIKey(ctx, u.ID, sessionKeyName, &exp, "", false)
	if err != nil {
		return nil, err
	}
	return &sessionOutput{
		SetCookie: sessionCookie(ctx, k.Key, exp),
		Body:      Session{User: newUser(u), CSRFToken: csrfToken(k.Key), ExpiresAt: exp},
	}, nil
}

// checkSessionKey is the user of an API key offered at sign-in, within
// the login rate limits (by the key's id).
func (s *Server) checkSessionKey(ctx context.Context, key string) (*codepod.User, error) {
	done, err := s.admitLogin(ctx, "key:"+credentialID(key))
	if err != nil {
		return nil, err
	}
	u, _, err := s.userForKey(ctx, key)
	done(err == nil)
	return u, err
}

func (s *Server) getSession(ctx context.Context, in *sessionGetInput) (*sessionGetOutput, error) {
	out := &sessionGetOutput{Body: Session{User: newUser(caller(ctx))}}
	if in.Cookie != "" {
		out.Body.CSRFToken = csrfToken(in.Cookie)
	}
	return out, nil
}

func (s *Server) deleteSession(ctx context.Context, _ *struct{}) (*sessionEndOutput, error) {
	id := callerKeyID(ctx)
	if err := s.st.DeleteAPIKey(ctx, caller(ctx).ID, id); err != nil && codepod.ErrorCode(err) != codepod.ENOTFOUND {
		return nil, err
	}
	s.sessions.RevokeKey(id, keyRevoked())
	return &sessionEndOutput{SetCookie: sessionCookie(ctx, "", time.Unix(0, 0))}, nil
}

// sessionCookie is the session cookie holding key (empty and expired: a
// cleared cookie), Secure when the request came over TLS.
func sessionCookie(ctx context.Context, key string, exp time.Time) http.Cookie {
	c := http.Cookie{Name: SessionCookie, Value: key, Path: "/", Expires: exp, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if key == "" {
		c.MaxAge = -1
	}
	if ri := requestInfo(ctx); ri != nil && ri.tls {
		c.Secure = true
	}
	return c
}

package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// loginTTL is how long a key made by login lasts.
const loginTTL = 30 * 24 * time.Hour

// LoginRequest is an email and password.
type LoginRequest struct {
	Email    string `json:"email" minLength:"1" maxLength:"254" doc:"The account's email."`
	Password string `json:"password" minLength:"1" maxLength:"1024" doc:"The account's password."`
}

// LoginResult carries a new API key named "login".
type LoginResult struct {
	Token     string    `json:"token" doc:"A new API key (named \"login\"); send it as Authorization: Bearer <token>."`
	ExpiresAt time.Time `json:"expires_at" doc:"When the token stops working (30 days)."`
	User      User      `json:"user"`
}

type loginInput struct {
	Body LoginRequest
}

type loginOutput struct {
	Body LoginResult
}

func registerAuth(api huma.API, s *Server) {
	op := s.operation(public, http.MethodPost, "/auth/login", "login", "auth",
		"Log in with email and password", http.StatusUnauthorized, http.StatusTooManyRequests)
	register(api, s, describe(op, "Trades an email and password for a new API key named \"login\" that expires in 30 days. "+
		"A wrong email and a wrong password get the same 401. Too many attempts from one address, or too many failures "+
		"for one account, get a 429 with Retry-After."), s.login)
}

func (s *Server) login(ctx context.Context, in *loginInput) (*loginOutput, error) {
	u, err := s.checkLogin(ctx, in.Body.Email, in.Body.Password)
	if err != nil {
		return nil, err
	}
	exp := s.now().Add(loginTTL)
	k, err := s.createAPIKey(ctx, u.ID, "login", &exp, "", false)
	if err != nil {
		return nil, err
	}
	return &loginOutput{Body: LoginResult{Token: k.Key, ExpiresAt: exp, User: newUser(u)}}, nil
}

// checkLogin returns the enabled user whose email and password these are,
// within the login rate limits (login and the web UI's sign-in share them).
func (s *Server) checkLogin(ctx context.Context, email, password string) (*codepod.User, error) {
	bad := codepod.Errorf(codepod.EUNAUTHORIZED, "wrong email or password")
	done, err := s.admitLogin(ctx, email)
	if err != nil {
		return nil, err
	}
	u, err := s.st.UserByEmail(ctx, email)
	switch {
	case codepod.ErrorCode(err) == codepod.ENOTFOUND || (err == nil && u.PasswordHash == ""):
		checkPassword(dummyPHC(), password) // same time as a real check
		done(false)
		return nil, bad
	case err != nil:
		done(true)
		return nil, err
	case !checkPassword(u.PasswordHash, password):
		done(false)
		return nil, bad
	case u.Disabled():
		return nil, disabled() // no key for an account that cannot use it
	}
	done(true)
	return u, nil
}

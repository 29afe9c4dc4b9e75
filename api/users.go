package api

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// CreateUserRequest describes a new account.
type CreateUserRequest struct {
	Email    string `json:"email" minLength:"3" maxLength:"254" doc:"Login email, unique (case-insensitive)."`
	Name     string `json:"name,omitempty" maxLength:"200" doc:"Display name."`
	Password string `json:"password,omitempty" maxLength:"1024" doc:"At least 8 characters. Without one, the user can only use API keys an admin makes."`
	Admin    bool   `json:"admin,omitempty" doc:"Whether the user is an admin."`
}

type createUserInput struct {
	Body CreateUserRequest
}

type userOutput struct {
	Body User
}

type listUsersInput struct {
	PageParams
}

type listUsersOutput struct {
	Body *List[User]
}

func registerUsers(api huma.API, s *Server) {
	op := s.operation(adminOnly, http.MethodPost, "/users", "create-user", "users", "Create a user", http.StatusConflict)
	op.DefaultStatus = http.StatusCreated
	register(api, s, op, s.createUser)

	op = s.operation(adminOnly, http.MethodGet, "/users", "list-users", "users", "List users")
	register(api, s, op, func(ctx context.Context, in *listUsersInput) (*listUsersOutput, error) {
		users, next, err := s.st.ListUsers(ctx, in.page())
		if err != nil {
			return nil, err
		}
		return &listUsersOutput{Body: newList(users, next, newUser)}, nil
	})
	registerAccounts(api, s)
}

func (s *Server) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	email := strings.ToLower(strings.TrimSpace(in.Body.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, codepod.Errorf(codepod.EINVALID, "email %q is not a valid address (e.g. ada@example.com)", in.Body.Email)
	}
	u := &codepod.User{Email: email, Name: strings.TrimSpace(in.Body.Name), Admin: in.Body.Admin}
	if in.Body.Password != "" {
		if len(in.Body.Password) < 8 {
			return nil, codepod.Errorf(codepod.EINVALID, "password must be at least 8 characters")
		}
		release, err := s.hashing.enter(ctx) // the same gate as logins: hashing takes 19 MiB
		if errors.Is(err, errHashBusy) {
			return nil, tooMany(time.Second, "the server is hashing as many passwords as it may at once")
		} else if err != nil {
			return nil, err
		}
		u.PasswordHash = hashPassword(in.Body.Password)
		release()
	}
	if err := s.st.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	logger(ctx).Info("user created", "user_id", u.ID, "admin", u.Admin)
	return &userOutput{Body: newUser(u)}, nil
}

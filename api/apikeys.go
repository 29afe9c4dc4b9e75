package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
)

// CreateAPIKeyRequest names a new key and, optionally, its lifetime.
type CreateAPIKeyRequest struct {
	Name      string `json:"name" minLength:"1" maxLength:"100" doc:"What the key is for, e.g. \"laptop\" or \"ci\"."`
	ExpiresIn string `json:"expires_in,omitempty" doc:"Lifetime as a duration (\"720h\", \"30d\"); absent or \"0\": never expires."`
	ReadOnly  bool   `json:"read_only,omitempty" doc:"The key lists and reads only: every change (create, exec, file write, delete…) is refused with 403."`
}

type createAPIKeyInput struct {
	Body CreateAPIKeyRequest
}

type newAPIKeyOutput struct {
	Body NewAPIKey
}

type listAPIKeysInput struct {
	PageParams
	User string `query:"user" maxLength:"200" doc:"Admins only: list this user's keys (\"all\": every user's). Default: the caller's."`
}

type listAPIKeysOutput struct {
	Body *List[APIKey]
}

type idPath struct {
	ID string `path:"id" maxLength:"200" doc:"The id."`
}

func registerAPIKeys(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/api-keys", "create-api-key", "api-keys", "Create an API key")
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Makes a key for the caller, bound to the workspace the request acts in (the "+WorkspaceHeader+" header, else the caller's personal workspace): it acts only there. The response holds the full key, shown this once."),
		func(ctx context.Context, in *createAPIKeyInput) (*newAPIKeyOutput, error) {
			ttl, err := parseLifetime("expires_in", in.Body.ExpiresIn)
			if err != nil {
				return nil, err
			}
			var exp *time.Time
			if ttl > 0 {
				t := s.now().Add(ttl)
				exp = &t
			}
			k, err := s.createAPIKey(ctx, caller(ctx).ID, in.Body.Name, exp, caller(ctx).WorkspaceOf(), in.Body.ReadOnly)
			if err != nil {
				return nil, err
			}
			return &newAPIKeyOutput{Body: *k}, nil
		})

	op = s.operation(userOnly, http.MethodGet, "/api-keys", "list-api-keys", "api-keys", "List the caller's API keys", http.StatusForbidden)
	register(api, s, describe(op, "Shows each key's prefix, never the key. An admin may list another user's keys with ?user=ID."),
		func(ctx context.Context, in *listAPIKeysInput) (*listAPIKeysOutput, error) {
			owner, err := keyOwner(caller(ctx), in.User)
			if err != nil {
				return nil, err
			}
			keys, next, err := s.st.ListAPIKeys(ctx, owner, in.page())
			if err != nil {
				return nil, err
			}
			return &listAPIKeysOutput{Body: newList(keys, next, newAPIKey)}, nil
		})

	op = s.operation(userOnly, http.MethodDelete, "/api-keys/{id}", "delete-api-key", "api-keys", "Delete an API key", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Revokes one of the caller's keys (an admin may revoke anyone's). It stops working at once."),
		func(ctx context.Context, in *idPath) (*struct{}, error) {
			owner := caller(ctx).ID
			if caller(ctx).Admin {
				owner = ""
			}
			if err := s.st.DeleteAPIKey(ctx, owner, in.ID); err != nil {
				return nil, err
			}
			n := s.sessions.RevokeKey(in.ID, keyRevoked())
			logger(ctx).Info("API key deleted", "key_id", in.ID, "sessions_ended", n)
			return &struct{}{}, nil
		})
}

// keyOwner is whose keys a list shows: the caller's, or for an admin the
// user asked for ("all": everyone's).
func keyOwner(c *codepod.User, asked string) (string, error) {
	switch {
	case asked == "" || asked == c.ID:
		return c.ID, nil
	case !c.Admin:
		return "", codepod.Errorf(codepod.EFORBIDDEN, "only admins may list another user's API keys")
	case asked == "all":
		return "", nil
	}
	return asked, nil
}

// createAPIKey makes and stores a key for userID; the result carries the
// full key.
// A workspace binds the key to it ("": a sign-in key, which acts in the
// workspace each request names).
func (s *Server) createAPIKey(ctx context.Context, userID, name string, exp *time.Time, workspace string, readOnly bool) (*NewAPIKey, error) {
	sec := secret.New(secret.APIKey, secret.NewID("key"))
	k := &codepod.APIKey{ID: sec.ID, UserID: userID, Name: name, Prefix: sec.Prefix, Hash: sec.Hash,
		CreatedAt: s.now(), ExpiresAt: exp, WorkspaceID: workspace, ReadOnly: readOnly}
	if err := s.st.CreateAPIKey(ctx, k); err != nil {
		return nil, err
	}
	return &NewAPIKey{APIKey: newAPIKey(k), Key: sec.Full}, nil
}

// parseLifetime parses a Go duration, also accepting whole days ("30d").
// "" and "0" mean no expiry (0).
func parseLifetime(field, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d < time.Minute || d > 10*365*24*time.Hour {
		return 0, codepod.Errorf(codepod.EINVALID, "%s %q must be a duration between 1m and 3650d, e.g. \"24h\" or \"30d\" (or \"0\" for never)", field, v)
	}
	return d, nil
}

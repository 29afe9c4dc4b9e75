package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/internal/secret"
)

func TestBootstrapCreatesAdminOnce(t *testing.T) {
	e := newEnv(t) // bootstraps once
	path := filepath.Join(e.dataDir, "admin-api-key")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("admin key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin key file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != e.adminKey || !strings.HasPrefix(e.adminKey, "cpk_") {
		t.Errorf("file holds %q, Bootstrap returned %q", b, e.adminKey)
	}
	me := e.do("GET", "/api/v1/me", e.adminKey, nil).want(t, http.StatusOK)
	if me.str("email") != api.AdminEmail || me.JSON["admin"] != true {
		t.Errorf("admin key belongs to %s", me.Body)
	}

	key, created, err := api.Bootstrap(context.Background(), e.st, e.dataDir)
	if err != nil || created || key != "" {
		t.Fatalf("second bootstrap: key=%q created=%v err=%v, want nothing", key, created, err)
	}
	if n, _ := e.st.CountUsers(context.Background()); n != 1 {
		t.Errorf("%d users after two bootstraps, want 1", n)
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Error("second bootstrap rewrote the key file")
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	key := e.newUser("ada@example.com", false)
	me := e.do("GET", "/api/v1/me", key, nil).want(t, http.StatusOK)
	if me.str("email") != "ada@example.com" || me.JSON["admin"] != false {
		t.Errorf("login key is for %s", me.Body)
	}
	keys := e.do("GET", "/api/v1/api-keys", key, nil).want(t, http.StatusOK)
	items := keys.JSON["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "login" || items[0].(map[string]any)["expires_at"] == nil {
		t.Errorf("login made keys %s, want one named login with an expiry", keys.Body)
	}

	for name, body := range map[string]map[string]any{
		"wrong password": {"email": "ada@example.com", "password": "wrong password!"},
		"unknown email":  {"email": "bob@example.com", "password": "correct horse battery"},
		"no password":    {"email": api.AdminEmail, "password": "anything at all"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/auth/login", "", body)
			wantProblem(t, r, http.StatusUnauthorized)
			if r.str("detail") != "wrong email or password" {
				t.Errorf("detail %q", r.str("detail"))
			}
		})
	}
}

func TestCredentialsRequired(t *testing.T) {
	e := newEnv(t)
	for name, key := range map[string]string{
		"none":          "",
		"garbage":       "hello",
		"unknown key":   secret.New(secret.APIKey, secret.NewID("key")).Full,
		"runner secret": secret.New(secret.RunnerCred, secret.NewID("run")).Full,
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/sandboxes", key, nil)
			wantProblem(t, r, http.StatusUnauthorized)
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestUsersAreAdminOnly(t *testing.T) {
	e := newEnv(t)
	key := e.newUser("ada@example.com", false)
	r := e.do("POST", "/api/v1/users", key, map[string]any{"email": "eve@example.com"})
	wantProblem(t, r, http.StatusForbidden)
	if !strings.Contains(r.str("detail"), "requires an admin") {
		t.Errorf("detail %q", r.str("detail"))
	}
	wantProblem(t, e.do("GET", "/api/v1/users", key, nil), http.StatusForbidden)

	wantProblem(t, e.do("POST", "/api/v1/users", e.adminKey, map[string]any{"email": "ADA@example.com"}), http.StatusConflict)
	wantProblem(t, e.do("POST", "/api/v1/users", e.adminKey, map[string]any{"email": "not an email"}), http.StatusUnprocessableEntity)
	wantProblem(t, e.do("POST", "/api/v1/users", e.adminKey, map[string]any{"email": "x@example.com", "password": "short"}), http.StatusUnprocessableEntity)

	// Two users (admin, ada) come back one per page.
	var seen []string
	cursor := ""
	for range 3 {
		var page api.List[api.User]
		e.do("GET", "/api/v1/users?limit=1&cursor="+cursor, e.adminKey, nil).want(t, http.StatusOK).decode(t, &page)
		for _, u := range page.Items {
			seen = append(seen, u.Email)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if strings.Join(seen, ",") != api.AdminEmail+",ada@example.com" {
		t.Errorf("paged users %v", seen)
	}
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	owner := e.newUser("ada@example.com", false)
	other := e.newUser("bob@example.com", false)

	var made api.NewAPIKey
	e.do("POST", "/api/v1/api-keys", owner, map[string]any{"name": "ci", "expires_in": "30d"}).
		want(t, http.StatusCreated).decode(t, &made)
	if !strings.HasPrefix(made.Key, made.Prefix+"_") || made.Prefix != "cpk_"+made.ID || made.ExpiresAt == nil {
		t.Fatalf("created key %+v", made)
	}
	e.do("GET", "/api/v1/me", made.Key, nil).want(t, http.StatusOK)

	list := e.do("GET", "/api/v1/api-keys", owner, nil).want(t, http.StatusOK)
	if strings.Contains(string(list.Body), made.Key) || strings.Contains(string(list.Body), `"key"`) || strings.Contains(string(list.Body), "hash") {
		t.Errorf("list shows a secret: %s", list.Body)
	}
	if !strings.Contains(string(list.Body), made.Prefix) {
		t.Errorf("list lacks the prefix %s: %s", made.Prefix, list.Body)
	}
	if n := len(e.do("GET", "/api/v1/api-keys", other, nil).JSON["items"].([]any)); n != 1 {
		t.Errorf("bob sees %d keys, want only his login key", n)
	}

	wantProblem(t, e.do("DELETE", "/api/v1/api-keys/"+made.ID, other, nil), http.StatusNotFound)
	wantProblem(t, e.do("POST", "/api/v1/api-keys", owner, map[string]any{"name": "x", "expires_in": "soon"}), http.StatusUnprocessableEntity)

	e.do("DELETE", "/api/v1/api-keys/"+made.ID, owner, nil).want(t, http.StatusNoContent)
	wantProblem(t, e.do("GET", "/api/v1/me", made.Key, nil), http.StatusUnauthorized)
}

func TestExpiredKeyIsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.st.UserByEmail(ctx, api.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	sec := secret.New(secret.APIKey, secret.NewID("key"))
	past := time.Now().Add(-time.Second)
	if err := e.st.CreateAPIKey(ctx, &codepod.APIKey{ID: sec.ID, UserID: admin.ID, Name: "old",
		Prefix: sec.Prefix, Hash: sec.Hash, ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, e.do("GET", "/api/v1/me", sec.Full, nil), http.StatusUnauthorized)
}

func TestKeyUseIsRecorded(t *testing.T) {
	e := newEnv(t)
	id, _ := secret.Parse(secret.APIKey, e.adminKey)
	e.do("GET", "/api/v1/me", e.adminKey, nil).want(t, http.StatusOK)
	k, err := e.st.APIKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if k.LastUsedAt == nil || time.Since(*k.LastUsedAt) > time.Minute {
		t.Fatalf("last_used_at %v after a call", k.LastUsedAt)
	}
	first := *k.LastUsedAt
	e.do("GET", "/api/v1/me", e.adminKey, nil).want(t, http.StatusOK)
	k, _ = e.st.APIKey(context.Background(), id)
	if !k.LastUsedAt.Equal(first) {
		t.Errorf("last_used_at moved from %v to %v within a minute", first, k.LastUsedAt)
	}
}

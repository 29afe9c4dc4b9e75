package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// userID is the id of the user whose key is key.
func (e *env) userID(key string) string {
	e.tb.Helper()
	return e.do("GET", "/api/v1/me", key, nil).want(e.tb, http.StatusOK).str("id")
}

// TestAttackDisabledUserKeepsUsingKey: a disabled user's keys get a 401
// that says the account is disabled, at once, and work again once enabled.
func TestAttackDisabledUserKeepsUsingKey(t *testing.T) {
	for _, db := range stores {
		t.Run(db, func(t *testing.T) {
			e := newEnvOn(t, db, nil)
			ada := e.newUser("ada@example.com", false)
			id := e.userID(ada)
			u := e.do("POST", "/api/v1/users/"+id+"/disable", e.adminKey, nil).want(t, http.StatusOK)
			if u.JSON["disabled"] != true {
				t.Fatalf("disable answered %s, want disabled: true", u.Body)
			}
			for _, path := range []string{"/api/v1/me", "/api/v1/sandboxes", "/api/v1/api-keys"} {
				r := e.do("GET", path, ada, nil)
				wantProblem(t, r, http.StatusUnauthorized)
				if !strings.Contains(r.str("detail"), "disabled") {
					t.Errorf("GET %s: detail %q does not say the account is disabled", path, r.str("detail"))
				}
			}
			// Logging in again does not help.
			r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
			wantProblem(t, r, http.StatusUnauthorized)
			if !strings.Contains(r.str("detail"), "disabled") {
				t.Errorf("login of a disabled user: %q, want it to say the account is disabled", r.str("detail"))
			}
			e.do("POST", "/api/v1/users/"+id+"/enable", e.adminKey, nil).want(t, http.StatusOK)
			e.do("GET", "/api/v1/me", ada, nil).want(t, http.StatusOK)
			// Only admins disable, and not themselves.
			wantProblem(t, e.do("POST", "/api/v1/users/"+id+"/disable", ada, nil), http.StatusForbidden)
			wantProblem(t, e.do("POST", "/api/v1/users/"+e.userID(e.adminKey)+"/disable", e.adminKey, nil), http.StatusConflict)
		})
	}
}

// TestAttackAdminRevokesAnotherUsersKey: an admin finds a user's keys and
// revokes one; a user cannot list another's keys.
func TestAttackAdminRevokesAnotherUsersKey(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.newUser("ada@example.com", false), e.newUser("bob@example.com", false)
	adaID := e.userID(ada)
	wantProblem(t, e.do("GET", "/api/v1/api-keys?user="+adaID, bob, nil), http.StatusForbidden)
	wantProblem(t, e.do("GET", "/api/v1/users/"+adaID+"/api-keys", bob, nil), http.StatusForbidden)
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			UserID string `json:"user_id"`
		}
	}
	e.do("GET", "/api/v1/api-keys?user="+adaID, e.adminKey, nil).want(t, http.StatusOK).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].UserID != adaID {
		t.Fatalf("admin lists %d keys of ada, want 1", len(list.Items))
	}
	var list2 struct{ Items []struct{ ID string } }
	e.do("GET", "/api/v1/users/"+adaID+"/api-keys", e.adminKey, nil).want(t, http.StatusOK).decode(t, &list2)
	if len(list2.Items) != 1 || list2.Items[0].ID != list.Items[0].ID {
		t.Fatalf("/users/{id}/api-keys = %+v, want %+v", list2.Items, list.Items)
	}
	e.do("DELETE", "/api/v1/api-keys/"+list.Items[0].ID, e.adminKey, nil).want(t, http.StatusNoContent)
	wantProblem(t, e.do("GET", "/api/v1/me", ada, nil), http.StatusUnauthorized)
	e.do("GET", "/api/v1/me", bob, nil).want(t, http.StatusOK)
}

// TestAttackQuotaOverHTTP: a user over quota gets a 403 that names the
// limit and the usage; the admin is not blocked; /me shows both.
func TestAttackQuotaOverHTTP(t *testing.T) {
	e := newEnv(t)
	ada := e.newUser("ada@example.com", false)
	id := e.userID(ada)
	u := e.do("PATCH", "/api/v1/users/"+id, e.adminKey, map[string]any{"quota": map[string]any{"sandboxes": 2, "memory_bytes": 1 << 30}}).want(t, http.StatusOK)
	if q, _ := u.JSON["quota_override"].(map[string]any); q["sandboxes"] != float64(2) {
		t.Fatalf("update-user answered %s, want quota_override.sandboxes 2", u.Body)
	}
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			r := e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": fmt.Sprintf("b%d", i), "image": "codepod/tiny:latest"})
			switch r.Status {
			case http.StatusCreated:
				ok.Add(1)
			case http.StatusForbidden:
				if !strings.Contains(r.str("detail"), "quota exceeded: 2 of 2 sandboxes in use") {
					t.Errorf("403 detail %q does not name the limit", r.str("detail"))
				}
				refused.Add(1)
			default:
				t.Errorf("create: %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 2 || refused.Load() != 4 {
		t.Fatalf("%d created, %d refused; want 2 and 4", ok.Load(), refused.Load())
	}
	e.do("POST", "/api/v1/sandboxes", e.adminKey, map[string]any{"name": "admins"}).want(t, http.StatusCreated)
	var me struct {
		Quota, Usage struct {
			Sandboxes   int   `json:"sandboxes"`
			MemoryBytes int64 `json:"memory_bytes"`
		}
	}
	e.do("GET", "/api/v1/me", ada, nil).want(t, http.StatusOK).decode(t, &me)
	if me.Quota.Sandboxes != 2 || me.Usage.Sandboxes != 2 || me.Quota.MemoryBytes != 1<<30 {
		t.Fatalf("/me = %+v, want quota 2 sandboxes and 1 GiB, usage 2", me)
	}
	// -1 drops the override; bad values are refused.
	e.do("PATCH", "/api/v1/users/"+id, e.adminKey, map[string]any{"quota": map[string]any{"sandboxes": -1, "memory_bytes": -1}}).want(t, http.StatusOK)
	e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "b9"}).want(t, http.StatusCreated)
	wantProblem(t, e.do("PATCH", "/api/v1/users/"+id, e.adminKey, map[string]any{"quota": map[string]any{"cpu": -2}}), http.StatusUnprocessableEntity)
}

func TestDeleteUserOverHTTP(t *testing.T) {
	e := newEnv(t)
	ada := e.newUser("ada@example.com", false)
	id := e.userID(ada)
	e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "box"}).want(t, http.StatusCreated)
	r := e.do("DELETE", "/api/v1/users/"+id, e.adminKey, nil)
	wantProblem(t, r, http.StatusConflict)
	if !strings.Contains(r.str("detail"), "force") {
		t.Errorf("409 detail %q does not mention force", r.str("detail"))
	}
	// No runner holds the sandbox, so it is deleted at once, and the user too.
	e.do("DELETE", "/api/v1/users/"+id+"?force=true", e.adminKey, nil).want(t, http.StatusNoContent)
	wantProblem(t, e.do("GET", "/api/v1/me", ada, nil), http.StatusUnauthorized)
	wantProblem(t, e.do("GET", "/api/v1/users/"+id, e.adminKey, nil), http.StatusNotFound)
}

// TestResetPassword: an admin sets a new password with PATCH /users/{id};
// the old one stops working, the new one works, a short one is refused.
func TestResetPassword(t *testing.T) {
	e := newEnv(t)
	e.newUser("reset@example.com", false)
	var u struct{ ID string }
	for _, it := range e.do("GET", "/api/v1/users?limit=100", e.adminKey, nil).want(t, http.StatusOK).JSON["items"].([]any) {
		if m := it.(map[string]any); m["email"] == "reset@example.com" {
			u.ID = m["id"].(string)
		}
	}
	wantProblem(t, e.do("PATCH", "/api/v1/users/"+u.ID, e.adminKey, map[string]any{"password": "short"}), http.StatusUnprocessableEntity)
	e.do("PATCH", "/api/v1/users/"+u.ID, e.adminKey, map[string]any{"password": "a brand new password"}).want(t, http.StatusOK)
	wantProblem(t, e.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "reset@example.com", "password": "correct horse battery"}), http.StatusUnauthorized)
	e.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "reset@example.com", "password": "a brand new password"}).want(t, http.StatusOK)
}

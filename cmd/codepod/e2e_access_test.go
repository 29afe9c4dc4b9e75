package main_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUsersLoginAndKeys walks the access commands as people would: the admin
// makes a user, the user logs in with a password (the key lands in their
// config file), makes and revokes an API key, and cannot see the admin's
// sandbox.
func TestUsersLoginAndKeys(t *testing.T) {
	c := newCluster(t)
	c.must("user", "create", "--email", "ada@example.com", "--name", "Ada")
	// --password with no terminal reads standard input; an empty one is an error.
	if _, errOut, code := c.cli("user", "create", "--email", "eve@example.com", "--password"); code == 0 || !strings.Contains(errOut, "no password") {
		t.Fatalf("user create --password without one: exit %d, %s", code, errOut)
	}
	if r := c.run(cliOpts{stdin: strings.NewReader("correct horse battery\n")}, "user", "create", "--email", "bob@example.com", "--password"); r.code != 0 {
		t.Fatalf("user create with a password: %d %s", r.code, r.stderr)
	}
	var users []struct{ Email string }
	if err := json.Unmarshal([]byte(c.must("user", "list", "-o", "json")), &users); err != nil || len(users) != 3 {
		t.Fatalf("user list: %v %+v (want admin, ada, bob)", err, users)
	}

	home := t.TempDir()
	bob := cliOpts{home: home, noCreds: true, env: []string{"CODEPOD_SERVER_URL=" + c.URL}}
	if r := c.run(withStdin(bob, "wrong password\n"), "login", "--email", "bob@example.com"); r.code == 0 || !strings.Contains(string(r.stderr), "401") {
		t.Fatalf("login with a wrong password: exit %d, %s", r.code, r.stderr)
	}
	if r := c.run(withStdin(bob, "correct horse battery\n"), "login", "--email", "bob@example.com"); r.code != 0 {
		t.Fatalf("login: exit %d, %s", r.code, r.stderr)
	}
	if r := c.run(bob, "sandbox", "list", "-o", "json"); r.code != 0 || strings.TrimSpace(string(r.stdout)) != "[]" {
		t.Fatalf("bob's list with the stored key: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}

	// Another user's sandbox is a 404, for reads and for changes.
	adminBox := c.must("sandbox", "create", "admins-box", "--image", "codepod/tiny:latest")
	for _, args := range [][]string{{"sandbox", "get", adminBox}, {"sandbox", "delete", adminBox}, {"sandbox", "exec", adminBox, "--", "true"}} {
		if r := c.run(bob, args...); r.code == 0 || !strings.Contains(string(r.stderr), "not found") {
			t.Errorf("bob: codepod %s: exit %d, %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}

	key := strings.TrimSpace(string(c.run(bob, "api-key", "create", "--name", "script").stdout))
	if !strings.HasPrefix(key, "cpk_") {
		t.Fatalf("api-key create printed %q", key)
	}
	list := string(c.run(bob, "api-key", "list").stdout)
	if !strings.Contains(list, "script") || strings.Contains(list, key) {
		t.Fatalf("api-key list must show the key's prefix, not the key:\n%s", list)
	}
	if _, errOut, code := c.cliAs(key, "sandbox", "list"); code != 0 {
		t.Fatalf("the new key does not work: %s", errOut)
	}
	id := strings.Split(strings.TrimPrefix(key, "cpk_"), "_")
	c.run(bob, "api-key", "delete", "key_"+id[1])
	if _, errOut, code := c.cliAs(key, "sandbox", "list"); code == 0 || !strings.Contains(errOut, "401") {
		t.Fatalf("a revoked key still works: exit %d, %s", code, errOut)
	}
	c.must("sandbox", "delete", adminBox)
}

func withStdin(o cliOpts, s string) cliOpts {
	o.stdin = strings.NewReader(s)
	return o
}

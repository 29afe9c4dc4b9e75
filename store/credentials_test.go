package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

func testAPIKeys(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	ada, bob := newUser(t, db, "ada@example.com"), newUser(t, db, "bob@example.com")

	exp := time.Now().Add(time.Hour)
	k := &codepod.APIKey{UserID: ada.ID, Name: "laptop", Prefix: "cpk_x", Hash: []byte{1, 2, 3}, ExpiresAt: &exp}
	must(t, db.CreateAPIKey(ctx, k))
	if !strings.HasPrefix(k.ID, "key_") {
		t.Fatalf("key id %q lacks the key_ prefix", k.ID)
	}
	got, err := db.APIKey(ctx, k.ID)
	must(t, err)
	if !reflect.DeepEqual(got, k) {
		t.Errorf("APIKey = %+v, want %+v", got, k)
	}
	for range 3 {
		must(t, db.CreateAPIKey(ctx, &codepod.APIKey{UserID: bob.ID, Prefix: "cpk_y", Hash: []byte{4}}))
	}
	wantCode(t, db.CreateAPIKey(ctx, &codepod.APIKey{UserID: "usr_nobody", Hash: []byte{1}}), codepod.EINVALID)

	keys, _, err := db.ListAPIKeys(ctx, ada.ID, codepod.Page{})
	must(t, err)
	if len(keys) != 1 || keys[0].ID != k.ID {
		t.Errorf("ListAPIKeys(ada) = %+v, want only %s", keys, k.ID)
	}
	pages := collect(t, 2, func(ctx context.Context, p codepod.Page) ([]codepod.APIKey, string, error) {
		return db.ListAPIKeys(ctx, "", p)
	})
	assertPaged(t, pages, []int{2, 2}, func(k codepod.APIKey) (time.Time, string) { return k.CreatedAt, k.ID })

	used := time.Now().Add(time.Minute)
	must(t, db.TouchAPIKey(ctx, k.ID, used))
	got, err = db.APIKey(ctx, k.ID)
	must(t, err)
	if got.LastUsedAt == nil || got.LastUsedAt.Sub(used).Abs() > time.Microsecond {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
	}
	wantCode(t, db.TouchAPIKey(ctx, "key_missing", used), codepod.ENOTFOUND)

	wantCode(t, db.DeleteAPIKey(ctx, bob.ID, k.ID), codepod.ENOTFOUND, k.ID)
	must(t, db.DeleteAPIKey(ctx, ada.ID, k.ID))
	_, err = db.APIKey(ctx, k.ID)
	wantCode(t, err, codepod.ENOTFOUND)
	must(t, db.DeleteAPIKey(ctx, "", pages[0][1].ID)) // an admin deletes anyone's key
	wantCode(t, db.DeleteAPIKey(ctx, "", pages[0][1].ID), codepod.ENOTFOUND)
}

func testRunnerTokens(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	admin := newUser(t, db, "admin@example.com")

	tok := &codepod.RunnerToken{Prefix: "crt_x", Hash: []byte("hash"), CreatedBy: admin.ID}
	must(t, db.CreateRunnerToken(ctx, tok))
	if !strings.HasPrefix(tok.ID, "rt_") {
		t.Fatalf("runner token id %q lacks the rt_ prefix", tok.ID)
	}
	got, err := db.RunnerToken(ctx, tok.ID)
	must(t, err)
	if !reflect.DeepEqual(got, tok) {
		t.Errorf("RunnerToken = %+v, want %+v", got, tok)
	}
	anon := &codepod.RunnerToken{Prefix: "crt_y", Hash: []byte("h2")}
	must(t, db.CreateRunnerToken(ctx, anon))
	list, next, err := db.ListRunnerTokens(ctx, codepod.Page{})
	must(t, err)
	if len(list) != 2 || next != "" || list[1].CreatedBy != "" {
		t.Errorf("ListRunnerTokens = %+v, %q", list, next)
	}
	must(t, db.DeleteRunnerToken(ctx, tok.ID))
	_, err = db.RunnerToken(ctx, tok.ID)
	wantCode(t, err, codepod.ENOTFOUND, tok.ID)
	wantCode(t, db.DeleteRunnerToken(ctx, tok.ID), codepod.ENOTFOUND)
}

func testSSHKeys(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	ada, bob := newUser(t, db, "ada@example.com"), newUser(t, db, "bob@example.com")

	k := &codepod.SSHKey{UserID: ada.ID, Name: "laptop", PublicKey: "ssh-ed25519 AAAA", Fingerprint: "SHA256:abc"}
	must(t, db.CreateSSHKey(ctx, k))
	if !strings.HasPrefix(k.ID, "ssh_") {
		t.Fatalf("ssh key id %q lacks the ssh_ prefix", k.ID)
	}
	dup := &codepod.SSHKey{UserID: ada.ID, Name: "again", PublicKey: "ssh-ed25519 AAAA", Fingerprint: "SHA256:abc"}
	wantCode(t, db.CreateSSHKey(ctx, dup), codepod.ECONFLICT, "SHA256:abc")
	must(t, db.CreateSSHKey(ctx, &codepod.SSHKey{UserID: bob.ID, PublicKey: "ssh-ed25519 AAAA", Fingerprint: "SHA256:abc"}))

	keys, err := db.ListSSHKeys(ctx, ada.ID)
	must(t, err)
	if len(keys) != 1 || !reflect.DeepEqual(keys[0], *k) {
		t.Errorf("ListSSHKeys = %+v, want [%+v]", keys, *k)
	}
	wantCode(t, db.DeleteSSHKey(ctx, bob.ID, k.ID), codepod.ENOTFOUND)
	must(t, db.DeleteSSHKey(ctx, ada.ID, k.ID))
	keys, err = db.ListSSHKeys(ctx, ada.ID)
	must(t, err)
	if len(keys) != 0 {
		t.Errorf("keys left after delete: %+v", keys)
	}
}

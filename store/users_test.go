package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

func testUsers(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)

	u := &codepod.User{Email: " Ada@Example.COM ", Name: "Ada", PasswordHash: "$argon2id$x", Admin: true}
	must(t, db.CreateUser(ctx, u))
	if !strings.HasPrefix(u.ID, "usr_") || len(u.ID) != len("usr_")+20 || u.CreatedAt.IsZero() {
		t.Fatalf("CreateUser did not fill ID and CreatedAt: %+v", u)
	}
	if u.Email != "ada@example.com" {
		t.Errorf("email stored as %q, want it lowercased", u.Email)
	}
	got, err := db.User(ctx, u.ID)
	must(t, err)
	if !reflect.DeepEqual(got, u) {
		t.Errorf("User = %+v, want %+v", got, u)
	}
	byEmail, err := db.UserByEmail(ctx, "ADA@example.com")
	must(t, err)
	if byEmail.ID != u.ID {
		t.Errorf("UserByEmail found %s, want %s", byEmail.ID, u.ID)
	}

	wantCode(t, db.CreateUser(ctx, &codepod.User{Email: "ada@EXAMPLE.com"}), codepod.ECONFLICT, "ada@example.com")
	wantCode(t, db.CreateUser(ctx, &codepod.User{ID: u.ID, Email: "other@example.com"}), codepod.ECONFLICT, u.ID)
	_, err = db.User(ctx, "usr_missing")
	wantCode(t, err, codepod.ENOTFOUND, "usr_missing")
	_, err = db.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, codepod.ENOTFOUND, "nobody@example.com")

	// A caller-chosen ID and time are kept.
	at := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	must(t, db.CreateUser(ctx, &codepod.User{ID: "usr_fixed", Email: "fixed@example.com", CreatedAt: at}))
	fixed, err := db.User(ctx, "usr_fixed")
	must(t, err)
	if !fixed.CreatedAt.Equal(at) {
		t.Errorf("CreatedAt = %v, want %v", fixed.CreatedAt, at)
	}

	for i := range 5 {
		newUser(t, db, fmt.Sprintf("user%d@example.com", i))
	}
	n, err := db.CountUsers(ctx)
	must(t, err)
	if n != 7 {
		t.Errorf("CountUsers = %d, want 7", n)
	}
	pages := collect(t, 3, db.ListUsers)
	assertPaged(t, pages, []int{3, 3, 1}, func(u codepod.User) (time.Time, string) { return u.CreatedAt, u.ID })
	if pages[0][0].ID != "usr_fixed" {
		t.Errorf("first user listed is %s, want the oldest (usr_fixed)", pages[0][0].ID)
	}

	_, _, err = db.ListUsers(ctx, codepod.Page{Cursor: "not a cursor!"})
	wantCode(t, err, codepod.EINVALID, "cursor")
	all, next, err := db.ListUsers(ctx, codepod.Page{Limit: 10_000})
	must(t, err)
	if len(all) != 7 || next != "" {
		t.Errorf("ListUsers(limit 10000) = %d users, next %q; want 7 and no next page", len(all), next)
	}
}

// collect lists every page of size limit and returns them.
func collect[T any](t *testing.T, limit int, list func(context.Context, codepod.Page) ([]T, string, error)) [][]T {
	t.Helper()
	var pages [][]T
	cursor := ""
	for range 100 {
		items, next, err := list(context.Background(), codepod.Page{Cursor: cursor, Limit: limit})
		must(t, err)
		pages = append(pages, items)
		if next == "" {
			return pages
		}
		cursor = next
	}
	t.Fatal("paging did not end")
	return nil
}

// assertPaged checks page sizes and that the items come once each, in
// (created_at, id) order.
func assertPaged[T any](t *testing.T, pages [][]T, sizes []int, key func(T) (time.Time, string)) {
	t.Helper()
	var got []int
	seen := map[string]bool{}
	var lastT time.Time
	lastID := ""
	for _, p := range pages {
		got = append(got, len(p))
		for _, it := range p {
			at, id := key(it)
			if seen[id] {
				t.Errorf("%s listed twice", id)
			}
			seen[id] = true
			if at.Before(lastT) || (at.Equal(lastT) && id < lastID) {
				t.Errorf("%s (%v) listed after %s (%v)", id, at, lastID, lastT)
			}
			lastT, lastID = at, id
		}
	}
	if !reflect.DeepEqual(got, sizes) {
		t.Errorf("page sizes = %v, want %v", got, sizes)
	}
}

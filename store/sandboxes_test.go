package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/store"
)

// newSandbox creates a pending sandbox of owner.
func newSandbox(t testing.TB, db *store.DB, owner, name string, labels map[string]string) *codepod.Sandbox {
	t.Helper()
	s := &codepod.Sandbox{Name: name, OwnerID: owner,
		Spec: codepod.SandboxSpec{Image: codepod.TinyImage, MemoryBytes: 64 << 20, Labels: labels}}
	must(t, db.CreateSandbox(context.Background(), s))
	return s
}

func ptr[T any](v T) *T { return &v }

func testSandboxes(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	owner := newUser(t, db, "ada@example.com")
	runner := newRunner(t, db, "host")

	s := &codepod.Sandbox{Name: "dev", OwnerID: owner.ID, SSHSecret: []byte{0, 1, 2, 255},
		Spec: codepod.SandboxSpec{Image: "debian:bookworm", CPU: 1.5, MemoryBytes: 512 << 20, PidsLimit: 256,
			Env: map[string]string{"A": "1"}, Labels: map[string]string{"team": "x"}, TTL: 90 * time.Minute,
			Network: codepod.NetworkBridge, RunnerLabels: map[string]string{"zone": "a"}}}
	must(t, db.CreateSandbox(ctx, s))
	if !strings.HasPrefix(s.ID, "sb_") || len(s.ID) != 23 || s.Status != codepod.SandboxPending {
		t.Fatalf("CreateSandbox filled %+v", s)
	}
	if s.ExpiresAt == nil || !s.ExpiresAt.Equal(s.CreatedAt.Add(90*time.Minute)) {
		t.Errorf("ExpiresAt = %v, want CreatedAt+TTL", s.ExpiresAt)
	}
	got, err := db.Sandbox(ctx, s.ID)
	must(t, err)
	if !reflect.DeepEqual(got, s) {
		t.Errorf("Sandbox =\n%+v\nwant\n%+v", got, s)
	}
	_, err = db.Sandbox(ctx, "sb_missing")
	wantCode(t, err, codepod.ENOTFOUND, "sb_missing")
	wantCode(t, db.CreateSandbox(ctx, &codepod.Sandbox{Name: "x", OwnerID: "usr_nobody"}), codepod.EINVALID)

	u, err := db.UpdateSandbox(ctx, s.ID, 1, codepod.SandboxUpdate{
		Status: ptr(codepod.SandboxRunning), Reason: ptr("started"), RunnerID: &runner.ID,
		HostKeyFingerprint: ptr("SHA256:host"), ExpiresAt: ptr[*time.Time](nil)})
	must(t, err)
	if u.Status != codepod.SandboxRunning || u.Reason != "started" || u.RunnerID != runner.ID ||
		u.HostKeyFingerprint != "SHA256:host" || u.ExpiresAt != nil || !u.UpdatedAt.After(s.UpdatedAt) {
		t.Errorf("UpdateSandbox returned %+v", u)
	}
	got, err = db.Sandbox(ctx, s.ID)
	must(t, err)
	if !reflect.DeepEqual(got, u) {
		t.Errorf("Sandbox after update = %+v, want %+v", got, u)
	}
	_, err = db.UpdateSandbox(ctx, s.ID, 1, codepod.SandboxUpdate{RunnerID: ptr("")})
	wantCode(t, err, codepod.ECONFLICT) // version 1 is gone
	if !errors.Is(err, codepod.ErrVersionConflict) {
		t.Errorf("stale write: %v, want ErrVersionConflict", err)
	}
	u, err = db.UpdateSandbox(ctx, s.ID, u.Version, codepod.SandboxUpdate{RunnerID: ptr("")})
	must(t, err)
	if u.RunnerID != "" || u.Status != codepod.SandboxRunning || u.Reason != "started" {
		t.Errorf("unplacing changed more than the runner: %+v", u)
	}
	_, err = db.UpdateSandbox(ctx, "sb_missing", 1, codepod.SandboxUpdate{Reason: ptr("x")})
	wantCode(t, err, codepod.ENOTFOUND, "sb_missing")
}

func testSandboxNames(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	ada, bob := newUser(t, db, "ada@example.com"), newUser(t, db, "bob@example.com")

	first := newSandbox(t, db, ada.ID, "x", nil)
	err := db.CreateSandbox(ctx, &codepod.Sandbox{Name: "x", OwnerID: ada.ID})
	wantCode(t, err, codepod.ECONFLICT, `a sandbox named "x" already exists`)
	newSandbox(t, db, bob.ID, "x", nil) // names are per workspace (each user's personal one here)

	got, err := db.SandboxByName(ctx, codepod.PersonalWorkspaceID(ada.ID), "x")
	must(t, err)
	if got.ID != first.ID {
		t.Errorf("SandboxByName = %s, want %s", got.ID, first.ID)
	}
	_, err = db.SandboxByName(ctx, codepod.PersonalWorkspaceID(ada.ID), "y")
	wantCode(t, err, codepod.ENOTFOUND)

	_, err = db.UpdateSandbox(ctx, first.ID, 1, codepod.SandboxUpdate{Status: ptr(codepod.SandboxDeleted)})
	must(t, err)
	_, err = db.SandboxByName(ctx, codepod.PersonalWorkspaceID(ada.ID), "x")
	wantCode(t, err, codepod.ENOTFOUND)
	second := newSandbox(t, db, ada.ID, "x", nil) // the name is free again
	got, err = db.SandboxByName(ctx, codepod.PersonalWorkspaceID(ada.ID), "x")
	must(t, err)
	if got.ID != second.ID {
		t.Errorf("SandboxByName after reuse = %s, want %s", got.ID, second.ID)
	}
	// Bringing the deleted one back would make two live sandboxes named x.
	_, err = db.UpdateSandbox(ctx, first.ID, 2, codepod.SandboxUpdate{Status: ptr(codepod.SandboxRunning)})
	wantCode(t, err, codepod.ECONFLICT)
}

func testSandboxList(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	ada, bob := newUser(t, db, "ada@example.com"), newUser(t, db, "bob@example.com")
	runner := newRunner(t, db, "host")

	var adas []string
	for i := range 7 {
		labels := map[string]string{"team": "red"}
		if i%2 == 1 {
			labels = map[string]string{"team": "blue", "app.kubernetes.io/name": "web"}
		}
		adas = append(adas, newSandbox(t, db, ada.ID, fmt.Sprintf("a%d", i), labels).ID)
	}
	newSandbox(t, db, bob.ID, "b0", map[string]string{"team": "red"})
	_, err := db.UpdateSandbox(ctx, adas[0], 1, codepod.SandboxUpdate{Status: ptr(codepod.SandboxDeleted)})
	must(t, err)
	for _, id := range adas[1:3] {
		_, err := db.UpdateSandbox(ctx, id, 1, codepod.SandboxUpdate{Status: ptr(codepod.SandboxRunning), RunnerID: &runner.ID})
		must(t, err)
	}

	cases := []struct {
		name string
		f    codepod.SandboxFilter
		want []string
	}{
		{"owner", codepod.SandboxFilter{OwnerID: ada.ID}, adas[1:]},
		{"owner with deleted", codepod.SandboxFilter{OwnerID: ada.ID, IncludeDeleted: true}, adas},
		{"status", codepod.SandboxFilter{OwnerID: ada.ID, Status: []codepod.SandboxStatus{codepod.SandboxRunning}}, adas[1:3]},
		{"status deleted", codepod.SandboxFilter{Status: []codepod.SandboxStatus{codepod.SandboxDeleted}}, adas[:1]},
		{"runner", codepod.SandboxFilter{RunnerID: runner.ID}, adas[1:3]},
		{"label", codepod.SandboxFilter{OwnerID: ada.ID, Labels: map[string]string{"team": "blue"}}, []string{adas[1], adas[3], adas[5]}},
		{"labels", codepod.SandboxFilter{Labels: map[string]string{"team": "blue", "app.kubernetes.io/name": "web"}}, []string{adas[1], adas[3], adas[5]}},
		{"label miss", codepod.SandboxFilter{Labels: map[string]string{"team": "blue", "app.kubernetes.io/name": "db"}}, nil},
		{"other owner", codepod.SandboxFilter{OwnerID: bob.ID, Labels: map[string]string{"team": "blue"}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, page := range collect(t, 2, func(ctx context.Context, p codepod.Page) ([]codepod.Sandbox, string, error) {
				f := c.f
				f.Page = p
				return db.ListSandboxes(ctx, f)
			}) {
				for _, s := range page {
					got = append(got, s.ID)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("listed %v, want %v", got, c.want)
			}
		})
	}
	pages := collect(t, 2, func(ctx context.Context, p codepod.Page) ([]codepod.Sandbox, string, error) {
		return db.ListSandboxes(ctx, codepod.SandboxFilter{Page: p})
	})
	assertPaged(t, pages, []int{2, 2, 2, 1}, func(s codepod.Sandbox) (time.Time, string) { return s.CreatedAt, s.ID })
}

func testSandboxQueries(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	owner := newUser(t, db, "ada@example.com")
	r1, r2 := newRunner(t, db, "one"), newRunner(t, db, "two")

	place := func(name string, r *codepod.Runner, status codepod.SandboxStatus) *codepod.Sandbox {
		s := newSandbox(t, db, owner.ID, name, nil)
		_, err := db.UpdateSandbox(ctx, s.ID, 1, codepod.SandboxUpdate{RunnerID: &r.ID, Status: &status})
		must(t, err)
		return s
	}
	place("a", r1, codepod.SandboxRunning)
	place("b", r1, codepod.SandboxStopped)
	place("c", r1, codepod.SandboxDeleted)
	place("d", r2, codepod.SandboxCreating)
	place("f", r2, codepod.SandboxError) // a failed create holds no container
	place("g", r2, codepod.SandboxLost)
	newSandbox(t, db, owner.ID, "e", nil) // pending, unplaced

	usage, err := db.RunnerUsage(ctx)
	must(t, err)
	want := map[string]codepod.Usage{r1.ID: {Sandboxes: 2, MemoryBytes: 128 << 20}, r2.ID: {Sandboxes: 1, MemoryBytes: 64 << 20}}
	if !reflect.DeepEqual(usage, want) {
		t.Errorf("RunnerUsage = %v, want %v", usage, want)
	}
	one, err := db.RunnerUsage(ctx, r2.ID)
	must(t, err)
	if want := (map[string]codepod.Usage{r2.ID: {Sandboxes: 1, MemoryBytes: 64 << 20}}); !reflect.DeepEqual(one, want) {
		t.Errorf("RunnerUsage(r2) = %v, want %v", one, want)
	}
	unplaced, _, err := db.ListSandboxes(ctx, codepod.SandboxFilter{Unplaced: true})
	must(t, err)
	if len(unplaced) != 1 || unplaced[0].Name != "e" {
		t.Errorf("unplaced sandboxes = %v, want only e", unplaced)
	}
	counts, err := db.CountSandboxesByStatus(ctx)
	must(t, err)
	wantCounts := map[codepod.SandboxStatus]int{codepod.SandboxRunning: 1, codepod.SandboxStopped: 1,
		codepod.SandboxDeleted: 1, codepod.SandboxCreating: 1, codepod.SandboxPending: 1,
		codepod.SandboxError: 1, codepod.SandboxLost: 1}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("CountSandboxesByStatus = %v, want %v", counts, wantCounts)
	}

	now := time.Now()
	expire := func(name string, at time.Time, status codepod.SandboxStatus) string {
		s := newSandbox(t, db, owner.ID, name, nil)
		_, err := db.UpdateSandbox(ctx, s.ID, 1, codepod.SandboxUpdate{ExpiresAt: ptr(&at), Status: &status})
		must(t, err)
		return s.ID
	}
	late := expire("late", now.Add(-time.Minute), codepod.SandboxRunning)
	early := expire("early", now.Add(-time.Hour), codepod.SandboxStopped)
	expire("future", now.Add(time.Hour), codepod.SandboxRunning)
	expire("going", now.Add(-time.Hour), codepod.SandboxDeleting)
	expire("gone", now.Add(-time.Hour), codepod.SandboxDeleted)
	expired, err := db.ExpiredSandboxes(ctx, now, 0)
	must(t, err)
	var ids []string
	for _, s := range expired {
		ids = append(ids, s.ID)
	}
	if !reflect.DeepEqual(ids, []string{early, late}) {
		t.Errorf("ExpiredSandboxes = %v, want [%s %s]", ids, early, late)
	}
	if one, err := db.ExpiredSandboxes(ctx, now, 1); err != nil || len(one) != 1 || one[0].ID != early {
		t.Errorf("ExpiredSandboxes(limit 1) = %v, %v", one, err)
	}
}

package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

func testTx(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)

	boom := errors.New("boom")
	var inside *codepod.User
	err := db.InTx(ctx, func(tx codepod.Store) error {
		inside = &codepod.User{Email: "rolled@example.com"}
		if err := tx.CreateUser(ctx, inside); err != nil {
			return err
		}
		if _, err := tx.User(ctx, inside.ID); err != nil {
			t.Errorf("the transaction does not see its own row: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	_, err = db.User(ctx, inside.ID)
	wantCode(t, err, codepod.ENOTFOUND)
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("CountUsers after rollback = %d, %v; want 0", n, err)
	}

	var kept *codepod.User
	must(t, db.InTx(ctx, func(tx codepod.Store) error {
		kept = &codepod.User{Email: "kept@example.com"}
		if err := tx.CreateUser(ctx, kept); err != nil {
			return err
		}
		// A nested InTx runs on the same transaction.
		return tx.InTx(ctx, func(inner codepod.Store) error {
			_, err := inner.User(ctx, kept.ID)
			return err
		})
	}))
	if _, err := db.User(ctx, kept.ID); err != nil {
		t.Errorf("committed user: %v", err)
	}

	// A domain error inside the transaction comes out unchanged.
	err = db.InTx(ctx, func(tx codepod.Store) error {
		return tx.CreateUser(ctx, &codepod.User{Email: "kept@example.com"})
	})
	wantCode(t, err, codepod.ECONFLICT, "kept@example.com")
}

// testTxDeadlockRetried: two transactions that lock two sandboxes in
// opposite orders deadlock on PostgreSQL; the victim runs again and both
// commit. (SQLite's single writer never deadlocks.)
func testTxDeadlockRetried(t *testing.T, b backend) {
	if b.name != "postgres" {
		t.Skip("only PostgreSQL has row locks that can deadlock")
	}
	ctx := context.Background()
	db := open(t, b)
	owner := newUser(t, db, "ada@example.com")
	s1, s2 := newSandbox(t, db, owner.ID, "one", nil), newSandbox(t, db, owner.ID, "two", nil)
	var mu sync.Mutex
	attempts := 0
	firsts := make(chan struct{}, 2)
	// bump writes a sandbox the way the control plane does: read, write on
	// the version read, read again when another transaction got there first.
	bump := func(tx codepod.Store, id, reason string) error {
		for {
			sb, err := tx.Sandbox(ctx, id)
			if err != nil {
				return err
			}
			_, err = tx.UpdateSandbox(ctx, id, sb.Version, codepod.SandboxUpdate{Reason: &reason})
			if !errors.Is(err, codepod.ErrVersionConflict) {
				return err
			}
		}
	}
	lockBoth := func(first, second *codepod.Sandbox) error {
		return db.InTx(ctx, func(tx codepod.Store) error {
			mu.Lock()
			attempts++
			n := attempts
			mu.Unlock()
			if err := bump(tx, first.ID, "first"); err != nil {
				return err
			}
			if n <= 2 { // both hold their first row before either takes its second
				firsts <- struct{}{}
				for len(firsts) < 2 {
					time.Sleep(time.Millisecond)
				}
			}
			return bump(tx, second.ID, "second")
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = lockBoth(s1, s2) })
	wg.Go(func() { errs[1] = lockBoth(s2, s1) })
	wg.Wait()
	// At least one retry (the deadlock's victim); a loaded machine may see
	// the victim's retry lose once more to the winner's commit.
	if errs[0] != nil || errs[1] != nil || attempts < 3 {
		t.Fatalf("errors %v, %d attempts; want both committed after a retry", errs, attempts)
	}
}

package store_test

import (
	"context"
	"errors"
	"testing"

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

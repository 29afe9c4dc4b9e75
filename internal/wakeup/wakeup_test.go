package wakeup_test

import (
	"testing"

	"github.com/codepod-dev/codepod/internal/wakeup"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestSet(t *testing.T) {
	var s wakeup.Set
	a1, a2, b := s.Wait("a"), s.Wait("a"), s.Wait("b")
	s.Wake("a")
	if !closed(a1) || !closed(a2) || closed(b) {
		t.Fatalf("after Wake(a): a1 %v a2 %v b %v; want only a's closed", closed(a1), closed(a2), closed(b))
	}
	if closed(s.Wait("a")) {
		t.Fatal("a new Wait after a Wake must wait for the next one")
	}
	s.WakeAll()
	if !closed(b) {
		t.Fatal("WakeAll left b waiting")
	}
	s.Wake("nobody") // no waiter: nothing happens
}

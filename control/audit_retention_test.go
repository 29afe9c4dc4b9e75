package control_test

import (
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
)

// TestHousekeepingPrunesAuditLog: housekeeping deletes audit entries older
// than AuditRetention (none with 0, the keep-forever setting), and the
// chain left still verifies from the anchor.
func TestHousekeepingPrunesAuditLog(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		for range 3 {
			if err := e.st.AppendAudit(e.ctx, &codepod.AuditEvent{Action: "sandbox.create"}); err != nil {
				t.Fatal(err)
			}
		}
		at := func(d, retention time.Duration) {
			t.Helper()
			cfg := testConfig()
			cfg.AuditRetention = retention
			cfg.Now = func() time.Time { return time.Now().Add(d) }
			if err := control.New(e.st, cfg).Housekeep(e.ctx); err != nil {
				t.Fatalf("Housekeep at +%s: %v", d, err)
			}
		}
		count := func() int {
			es, _, err := e.st.ListAudit(e.ctx, codepod.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}
		at(48*time.Hour, 0)
		at(0, time.Hour)
		if n := count(); n != 3 {
			t.Fatalf("%d entries after housekeeping with nothing old enough, want 3", n)
		}
		at(2*time.Hour, time.Hour)
		if n := count(); n != 0 {
			t.Fatalf("%d entries after the retention passed, want 0", n)
		}
		if err := e.st.AppendAudit(e.ctx, &codepod.AuditEvent{Action: "sandbox.delete"}); err != nil {
			t.Fatal(err)
		}
		v, err := codepod.VerifyAudit(e.ctx, e.st)
		if err != nil || v.Bad != 0 || v.Checked() != 1 {
			t.Fatalf("verify after pruning: %+v, %v", v, err)
		}
	})
}

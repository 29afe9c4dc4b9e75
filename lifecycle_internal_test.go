package codepod

import "testing"

// TestTransitionInvariants checks every starting point and event of the
// documented table: jobs always have a runner to go to, a deleted sandbox
// has no job under way, a sandbox becomes deleting exactly when a delete
// job is enqueued, and only user actions are refused.
func TestTransitionInvariants(t *testing.T) {
	for _, s := range tableSandboxes() {
		for _, e := range tableEvents {
			sb := s.sb
			c, err := Transition(&sb, e.ev)
			if err != nil {
				if e.ev.Kind != EventStart && e.ev.Kind != EventStop || ErrorCode(err) != ECONFLICT {
					t.Errorf("%s + %s: %v; only start and stop may be refused, with ECONFLICT", s.label, e.label, err)
				}
				continue
			}
			if !c.Changed {
				if c.Status != "" || len(c.Jobs) > 0 || c.CancelJobs {
					t.Errorf("%s + %s: no change but %+v", s.label, e.label, c)
				}
				continue
			}
			if len(c.Jobs) > 0 && c.RunnerID == "" {
				t.Errorf("%s + %s: jobs %v without a runner", s.label, e.label, c.Jobs)
			}
			if c.Status == SandboxDeleted && len(c.Jobs) > 0 {
				t.Errorf("%s + %s: deleted with jobs %v", s.label, e.label, c.Jobs)
			}
			if (c.Status == SandboxDeleting) != (len(c.Jobs) == 1 && c.Jobs[0] == JobDelete) {
				t.Errorf("%s + %s: %s with jobs %v", s.label, e.label, c.Status, c.Jobs)
			}
		}
	}
}

package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

type lifetimeView struct {
	ID                 string     `json:"id"`
	Status             string     `json:"status"`
	TTLSeconds         int64      `json:"ttl_seconds"`
	ExpiresAt          *time.Time `json:"expires_at"`
	IdleTimeoutSeconds int64      `json:"idle_timeout_seconds"`
	IdleAt             *time.Time `json:"idle_at"`
}

func (c *cluster) lifetime(ctx context.Context, t *testing.T, id string) lifetimeView {
	t.Helper()
	var v lifetimeView
	if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+id, nil, &v, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLifetime: the TTL is extended and shortened from now; an idle
// sandbox is stopped, one running `sleep 120` is not.
func TestLifetime(t *testing.T) {
	c := sharedCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := newSandbox(t, c, "e2e-idle-quiet")
	busy := newSandbox(t, c, "e2e-idle-busy")

	t.Run("ttl extended and shortened", func(t *testing.T) {
		var v lifetimeView
		if err := c.call(ctx, "PATCH", "/api/v1/sandboxes/"+busy.Name, map[string]any{"ttl": "2h"}, &v, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if v.ExpiresAt == nil || time.Until(*v.ExpiresAt) < 119*time.Minute || v.TTLSeconds != 7200 {
			t.Fatalf("extended to 2h: %+v", v)
		}
		if err := c.call(ctx, "PATCH", "/api/v1/sandboxes/"+busy.ID, map[string]any{"ttl": "30m"}, &v, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if left := time.Until(*v.ExpiresAt); left > 30*time.Minute || left < 29*time.Minute {
			t.Fatalf("shortened to 30m: expires in %s", left)
		}
		if err := c.call(ctx, "PATCH", "/api/v1/sandboxes/"+busy.ID, map[string]any{"ttl": "soon"}, nil, http.StatusUnprocessableEntity); err != nil {
			t.Error(err)
		}
	})

	t.Run("idle stop", func(t *testing.T) {
		res := c.exec(ctx, t, busy.ID, map[string]any{"shell": "setsid sleep 120 </dev/null >/dev/null 2>&1 &"})
		if res.ExitCode != 0 {
			t.Fatalf("start sleep: %+v", res)
		}
		for _, sb := range []*sandbox{quiet, busy} {
			if err := c.call(ctx, "PATCH", "/api/v1/sandboxes/"+sb.ID, map[string]any{"idle_timeout": "2s"}, nil, http.StatusOK); err != nil {
				t.Fatal(err)
			}
		}
		first := c.lifetime(ctx, t, busy.ID)
		if first.IdleTimeoutSeconds != 2 || first.IdleAt == nil {
			t.Fatalf("after PATCH idle_timeout: %+v", first)
		}
		for c.lifetime(ctx, t, quiet.ID).Status != "stopped" {
			if ctx.Err() != nil {
				t.Fatalf("the idle sandbox was not stopped: %+v", c.lifetime(ctx, t, quiet.ID))
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The busy one's deadline passed too; the probe found sleep and
		// moved it forward instead of stopping it.
		for {
			v := c.lifetime(ctx, t, busy.ID)
			if v.Status != "running" {
				t.Fatalf("the sandbox running sleep 120 was stopped: %+v", v)
			}
			if v.IdleAt.After(first.IdleAt.Add(time.Second)) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the busy sandbox was never probed: %+v", v)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

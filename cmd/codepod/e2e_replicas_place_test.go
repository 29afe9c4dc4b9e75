package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// Two `codepod server` processes on one PostgreSQL database take 40 creates
// at once, half each, with runners that have room for 20: no runner is ever
// filled past its capacity, exactly 20 sandboxes are placed (the rest wait
// in pending with a reason), and no sandbox gets two create jobs.
func TestTwoReplicasPlaceWithoutOverfilling(t *testing.T) {
	db := testenv.PostgresURL(t)
	a := newClusterWith(t, clusterOptions{DatabaseURL: db, Advertise: true})
	b := newClusterWith(t, clusterOptions{DatabaseURL: db, Advertise: true, AdminKey: a.AdminKey})
	var me struct {
		ID string `json:"id"`
	}
	a.mustAPI("GET", "/api/v1/me", nil, &me, http.StatusOK)
	a.mustAPI("PATCH", "/api/v1/users/"+me.ID, map[string]any{"quota": map[string]any{"sandboxes": 100, "cpu": 100, "memory_bytes": 100 << 30}}, nil, http.StatusOK)
	// Two runners with room for 10 each, registered over the runner
	// protocol. They never poll, so every create job stays where placement
	// put it, and they stay online for the server's runner timeout (60s).
	for i := range 2 {
		var tok struct {
			Token string `json:"token"`
		}
		a.mustAPI("POST", "/api/v1/runner-tokens", map[string]any{}, &tok, http.StatusCreated)
		registerRunner(t, a, tok.Token, fmt.Sprintf("room-%d", i), 10)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 40 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			body := map[string]any{"name": fmt.Sprintf("p%d", i), "image": "codepod/tiny:latest", "memory": "64m"}
			if status, raw, err := c.api(ctx, "POST", "/api/v1/sandboxes", body, nil); err != nil || status != http.StatusCreated {
				t.Errorf("create p%d on %s: %d %v %s", i, c.URL, status, err, raw)
			}
		})
	}
	wg.Wait()

	conn := openDB(t, db)
	perRunner := map[string]int{}
	rows, err := conn.QueryContext(ctx, `SELECT runner_id, count(*) FROM sandboxes WHERE runner_id IS NOT NULL GROUP BY runner_id`)
	if err != nil {
		t.Fatal(err)
	}
	placed := 0
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		perRunner[id] = n
		placed += n
	}
	rows.Close()
	for id, n := range perRunner {
		if n > 10 {
			t.Errorf("runner %s holds %d sandboxes; its capacity is 10", id, n)
		}
	}
	if placed != 20 {
		t.Errorf("%d sandboxes placed (%v); want 20, the room there is", placed, perRunner)
	}
	var creates, twice int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE kind = 'create'`).Scan(&creates); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT sandbox_id FROM jobs WHERE kind = 'create' GROUP BY sandbox_id HAVING count(*) > 1) d`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if creates != 20 || twice != 0 {
		t.Errorf("%d create jobs, %d sandboxes with more than one; want 20 and 0", creates, twice)
	}
	var waiting int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sandboxes WHERE status = 'pending' AND runner_id IS NULL AND reason LIKE 'waiting for a runner%'`).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if waiting != 20 {
		t.Errorf("%d sandboxes wait in pending with a reason; want 20", waiting)
	}
}

// registerRunner registers a runner through the runner protocol with room
// for capacity sandboxes.
func registerRunner(t *testing.T, c *cluster, token, name string, capacity int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "version": "test", "capacity": map[string]any{"sandboxes": capacity, "memory_bytes": 0}})
	req, err := http.NewRequest("POST", c.URL+"/api/v1/runners/register", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("register runner %s: %s", name, resp.Status)
	}
}

func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

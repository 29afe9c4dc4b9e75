package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/store"
	"github.com/codepod-dev/codepod/wire"
)

// metricsServer serves the API with the given metrics token.
func metricsServer(t *testing.T, token string) *httptest.Server {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "codepod.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	s := api.New(api.Config{Store: st, Control: control.New(st, control.Config{Logger: log, Registerer: reg}),
		Logger: log, Registry: reg, MetricsToken: token})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close(); st.Close() })
	return srv
}

func scrape(t *testing.T, srv *httptest.Server, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestMetricsToken(t *testing.T) {
	t.Run("open when unset", func(t *testing.T) {
		if code, body := scrape(t, metricsServer(t, ""), ""); code != http.StatusOK || !strings.Contains(body, "# HELP codepod_") {
			t.Fatalf("scrape without a token configured: %d", code)
		}
	})
	t.Run("guarded when set", func(t *testing.T) {
		srv := metricsServer(t, "s3cret-scrape")
		for _, auth := range []string{"", "Bearer wrong", "Basic czNjcmV0LXNjcmFwZQ==", "Bearer s3cret-scrapeX"} {
			code, body := scrape(t, srv, auth)
			var p struct{ Detail string }
			json.Unmarshal([]byte(body), &p)
			if code != http.StatusUnauthorized || !strings.Contains(p.Detail, "--metrics-token") || strings.Contains(body, "# HELP codepod_") {
				t.Errorf("scrape with Authorization %q: %d %s; want a 401 problem naming --metrics-token", auth, code, body)
			}
		}
		if code, body := scrape(t, srv, "Bearer s3cret-scrape"); code != http.StatusOK || !strings.Contains(body, "# HELP codepod_") {
			t.Errorf("scrape with the token: %d", code)
		}
	})
}

// TestRunnerPollsLogAtDebug: a runner's polls (one every ~25 s) must not
// fill the INFO log; a failed one still shows.
func TestRunnerPollsLogAtDebug(t *testing.T) {
	e := newEnv(t)
	tok := e.do("POST", "/api/v1/runner-tokens", e.adminKey, nil).want(t, http.StatusCreated).str("token")
	var reg wire.RegisterResponse
	e.do("POST", "/api/v1/runners/register", tok, wire.RegisterRequest{Name: "r1"}).want(t, http.StatusCreated).decode(t, &reg)
	e.do("POST", "/api/v1/runners/poll", reg.Credential, wire.PollRequest{WaitSeconds: 0}).want(t, http.StatusOK)
	e.do("POST", "/api/v1/runners/poll", "cpr_nope", wire.PollRequest{}).want(t, http.StatusUnauthorized)
	levels := map[int]string{}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var l struct {
			Level, Msg, Path string
			Status           int
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "http request" && l.Path == "/api/v1/runners/poll" {
			levels[l.Status] = l.Level
		}
	}
	if levels[200] != "DEBUG" || levels[401] != "INFO" {
		t.Fatalf("access log levels of runner polls by status: %v; want 200 at DEBUG, 401 at INFO", levels)
	}
}

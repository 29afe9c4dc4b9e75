package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/agent/token"
	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/wire"
)

func TestRunnerRegistrationNeedsAToken(t *testing.T) {
	e := newEnv(t)
	body := wire.RegisterRequest{Name: "r1"}
	wantProblem(t, e.do("POST", "/api/v1/runners/register", "", body), http.StatusUnauthorized)
	wantProblem(t, e.do("POST", "/api/v1/runners/register", "cpt_rt_nope_nope", body), http.StatusUnauthorized)
	wantProblem(t, e.do("POST", "/api/v1/runners/register", e.adminKey, body), http.StatusUnauthorized)

	user := e.newUser("ada@example.com", false)
	wantProblem(t, e.do("POST", "/api/v1/runner-tokens", user, nil), http.StatusForbidden)
	var tok api.NewRunnerToken
	e.do("POST", "/api/v1/runner-tokens", e.adminKey, nil).want(t, http.StatusCreated).decode(t, &tok)
	if !strings.HasPrefix(tok.Token, "cpt_") || tok.ExpiresAt == nil || time.Until(*tok.ExpiresAt) < 23*time.Hour {
		t.Fatalf("runner token %+v", tok)
	}
	list := e.do("GET", "/api/v1/runner-tokens", e.adminKey, nil).want(t, http.StatusOK)
	if strings.Contains(string(list.Body), tok.Token) || !strings.Contains(string(list.Body), tok.Prefix) {
		t.Errorf("token list %s", list.Body)
	}
	e.do("DELETE", "/api/v1/runner-tokens/"+tok.ID, e.adminKey, nil).want(t, http.StatusNoContent)
	wantProblem(t, e.do("POST", "/api/v1/runners/register", tok.Token, body), http.StatusUnauthorized)
}

// TestRunnerProtocolRunsASandbox drives a sandbox to running through the
// runner protocol over HTTP, as a runner would.
func TestRunnerProtocolRunsASandbox(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnvOn(t, kind, nil)
			user := e.newUser("ada@example.com", false)
			tok := e.do("POST", "/api/v1/runner-tokens", e.adminKey, map[string]any{"expires_in": "1h"}).want(t, http.StatusCreated).str("token")
			var reg wire.RegisterResponse
			e.do("POST", "/api/v1/runners/register", tok, wire.RegisterRequest{
				Name: "r1", Labels: map[string]string{"zone": "test"}, Capacity: wire.Capacity{Sandboxes: 4}, Version: "test",
			}).want(t, http.StatusCreated).decode(t, &reg)
			if !strings.HasPrefix(reg.Credential, "cpr_") {
				t.Fatalf("register: %+v", reg)
			}
			runners := e.do("GET", "/api/v1/runners", e.adminKey, nil).want(t, http.StatusOK)
			if !strings.Contains(string(runners.Body), `"status":"online"`) || strings.Contains(string(runners.Body), reg.Credential) {
				t.Errorf("runners: %s", runners.Body)
			}
			wantProblem(t, e.do("GET", "/api/v1/runners", user, nil), http.StatusForbidden)
			wantProblem(t, e.do("POST", "/api/v1/runners/poll", user, wire.PollRequest{}), http.StatusUnauthorized)

			sb := e.do("POST", "/api/v1/sandboxes", user, map[string]any{"name": "dev", "image": "codepod/tiny:latest"}).want(t, http.StatusCreated)
			job := pollFor(t, e, reg.Credential, sb.str("id"))
			if job.Kind != wire.KindCreate || job.Sandbox == nil || job.Sandbox.Image != "codepod/tiny:latest" || len(job.Sandbox.SSHSecret) == 0 {
				t.Fatalf("job %+v", job)
			}
			e.do("POST", "/api/v1/runners/jobs/"+job.ID+"/progress", reg.Credential, wire.JobProgress{Message: "pulling"}).want(t, http.StatusNoContent)
			res := wire.JobResult{OK: true, HostKeyFingerprint: "SHA256:test", ContainerID: "c1"}
			e.do("POST", "/api/v1/runners/jobs/"+job.ID+"/result", reg.Credential, res).want(t, http.StatusNoContent)
			e.do("POST", "/api/v1/runners/jobs/"+job.ID+"/result", reg.Credential, res).want(t, http.StatusNoContent) // applied once

			var got api.Sandbox
			e.do("GET", "/api/v1/sandboxes/dev", user, nil).want(t, http.StatusOK).decode(t, &got)
			if got.Status != "running" || got.HostKeyFingerprint != "SHA256:test" || got.RunnerID != reg.RunnerID {
				t.Fatalf("after the result: %+v", got)
			}

			var st api.SSHToken
			e.do("POST", "/api/v1/sandboxes/dev/ssh-tokens", user, map[string]any{"ttl_seconds": 60}).want(t, http.StatusCreated).decode(t, &st)
			if st.User != "root" || st.HostKeyFingerprint != "SHA256:test" || st.SandboxID != got.ID {
				t.Errorf("ssh token %+v", st)
			}
			if err := token.Verify(job.Sandbox.SSHSecret, got.ID, st.Token, time.Now()); err != nil {
				t.Errorf("the agent would refuse the token: %v", err)
			}
			if d := time.Until(st.ExpiresAt); d < 50*time.Second || d > 61*time.Second {
				t.Errorf("token expires in %v, want about 60s", d)
			}

			e.do("DELETE", "/api/v1/runners/"+reg.RunnerID, e.adminKey, nil).want(t, http.StatusNoContent)
			wantProblem(t, e.do("POST", "/api/v1/runners/poll", reg.Credential, wire.PollRequest{}), http.StatusUnauthorized)
			e.do("GET", "/api/v1/sandboxes/dev", user, nil).want(t, http.StatusOK).decode(t, &got)
			if got.Status != "lost" || got.RunnerID != "" {
				t.Errorf("sandbox of a deleted runner: %+v", got)
			}
			wantProblem(t, e.do("GET", "/api/v1/runners/"+reg.RunnerID, e.adminKey, nil), http.StatusNotFound)
		})
	}
}

// pollFor polls as the runner until a job for sandboxID arrives.
func pollFor(t *testing.T, e *env, cred, sandboxID string) wire.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var res wire.PollResponse
		e.do("POST", "/api/v1/runners/poll", cred, wire.PollRequest{WaitSeconds: 2, Capacity: wire.Capacity{Sandboxes: 4}}).
			want(t, http.StatusOK).decode(t, &res)
		for _, j := range res.Jobs {
			if j.SandboxID == sandboxID {
				return j
			}
		}
	}
	t.Fatalf("no job for sandbox %s within 10s", sandboxID)
	return wire.Job{}
}

// TestPollOutlivesDeadlines holds a poll longer than the server's
// WriteTimeout (and Huma's 5 s body read deadline): neither may cut it short.
func TestPollOutlivesDeadlines(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a poll for 7s")
	}
	t.Parallel()
	e := newEnvOn(t, "sqlite", func(s *http.Server) { s.WriteTimeout = 3 * time.Second })
	tok := e.do("POST", "/api/v1/runner-tokens", e.adminKey, nil).want(t, http.StatusCreated).str("token")
	var reg wire.RegisterResponse
	e.do("POST", "/api/v1/runners/register", tok, wire.RegisterRequest{Name: "r1"}).want(t, http.StatusCreated).decode(t, &reg)

	start := time.Now()
	r := e.do("POST", "/api/v1/runners/poll", reg.Credential, wire.PollRequest{WaitSeconds: 7})
	held := time.Since(start)
	r.want(t, http.StatusOK)
	if held < 6*time.Second {
		t.Errorf("poll answered after %v, want it held about 7s", held)
	}
	if !strings.Contains(string(r.Body), `"jobs":[]`) {
		t.Errorf("poll body %s", r.Body)
	}
}

// TestRunnerVersionSkew: a runner registered with another version than the
// server's shows version_skew; a poll that reports the server's version
// records it and the skew goes away.
func TestRunnerVersionSkew(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnvOn(t, kind, nil)
			tok := e.do("POST", "/api/v1/runner-tokens", e.adminKey, nil).want(t, http.StatusCreated).str("token")
			var reg wire.RegisterResponse
			e.do("POST", "/api/v1/runners/register", tok, wire.RegisterRequest{Name: "old", Version: "v0.9.0"}).
				want(t, http.StatusCreated).decode(t, &reg)
			var r api.Runner
			e.do("GET", "/api/v1/runners/"+reg.RunnerID, e.adminKey, nil).want(t, http.StatusOK).decode(t, &r)
			if r.Version != "v0.9.0" || !r.VersionSkew {
				t.Fatalf("runner of another version: version %q skew %v, want v0.9.0 and skew", r.Version, r.VersionSkew)
			}
			var poll wire.PollResponse
			e.do("POST", "/api/v1/runners/poll", reg.Credential, wire.PollRequest{Version: "test", WaitSeconds: 1}).
				want(t, http.StatusOK).decode(t, &poll)
			if poll.ServerVersion != "test" {
				t.Errorf("poll answer's server_version = %q, want test", poll.ServerVersion)
			}
			e.do("GET", "/api/v1/runners/"+reg.RunnerID, e.adminKey, nil).want(t, http.StatusOK).decode(t, &r)
			if r.Version != "test" || r.VersionSkew {
				t.Fatalf("after a poll with the server's version: version %q skew %v, want test and no skew", r.Version, r.VersionSkew)
			}
		})
	}
}

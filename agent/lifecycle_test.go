package agent_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/agent"
	"golang.org/x/crypto/ssh"
)

// lifecycleStatus asks the agent (LifecycleRequest) until the lifecycle is
// done or failed.
func lifecycleStatus(t *testing.T, c *ssh.Client) agent.LifecycleStatus {
	t.Helper()
	st := agent.LifecycleStatus{Seq: -1}
	for !st.Done && st.Failed == "" {
		payload, _ := json.Marshal(st)
		ok, reply, err := c.SendRequest(agent.LifecycleRequest, true, payload)
		if err != nil || !ok {
			t.Fatalf("%s: ok %v, %v", agent.LifecycleRequest, ok, err)
		}
		if err := json.Unmarshal(reply, &st); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func cmd(js string) *agent.Command {
	var c agent.Command
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		panic(err)
	}
	return &c
}

// TestLifecycle: the agent runs the create hooks once and postStartCommand
// on every start, in order, in all three forms, with remoteEnv (and
// ${containerEnv:…}) in the workspace folder; output reaches main.log;
// a failing hook is reported with its command and last output.
func TestLifecycle(t *testing.T) {
	state, ws := t.TempDir(), t.TempDir()
	out := filepath.Join(ws, "hooks.log")
	t.Setenv("CODEPOD_TEST_BASE", "/base")
	spec := &agent.Devcontainer{
		OnCreateCommand:      cmd(`"echo onCreate $PWD $TOOLS >> hooks.log"`),
		UpdateContentCommand: cmd(`["sh", "-c", "echo updateContent >> hooks.log"]`),
		PostCreateCommand:    cmd(`{"a": "echo postCreate >> hooks.log", "b": ["sh", "-c", "echo to the log"]}`),
		PostStartCommand:     cmd(`"echo postStart >> hooks.log"`),
		RemoteEnv:            map[string]string{"TOOLS": "${containerEnv:CODEPOD_TEST_BASE}/tools"},
		WorkspaceFolder:      ws,
	}
	for start := 1; start <= 2; start++ {
		f := newFixture(t)
		a := startAgent(t, f, func(c *agent.Config) { c.Devcontainer, c.StateDir = spec, state })
		if st := lifecycleStatus(t, f.client(t)); !st.Done || st.Failed != "" {
			t.Fatalf("start %d: %+v", start, st)
		}
		a.Close()
		main, _ := os.ReadFile(filepath.Join(filepath.Dir(f.socket), agent.LogFileName))
		if start == 1 && (!strings.Contains(string(main), "[devcontainer] running onCreateCommand") || !strings.Contains(string(main), "to the log")) {
			t.Errorf("main.log:\n%s", main)
		}
	}
	b, _ := os.ReadFile(out)
	if got, want := string(b), "onCreate "+ws+" /base/tools\nupdateContent\npostCreate\npostStart\npostStart\n"; got != want {
		t.Fatalf("hooks.log:\n%s\nwant:\n%s", got, want)
	}

	f := newFixture(t)
	spec = &agent.Devcontainer{PostCreateCommand: cmd(`"echo almost; echo broken >&2; exit 4"`), PostStartCommand: cmd(`"touch never"`)}
	startAgent(t, f, func(c *agent.Config) { c.Devcontainer, c.StateDir = spec, t.TempDir() })
	st := lifecycleStatus(t, f.client(t))
	if !strings.Contains(st.Failed, `postCreateCommand "echo almost; echo broken >&2; exit 4" failed: exit 4`) || !strings.Contains(st.Failed, "almost\nbroken") {
		t.Fatalf("failed hook: %+v", st)
	}

	// A hook still running when the agent shuts down is killed, not
	// waited for.
	f = newFixture(t)
	spec = &agent.Devcontainer{PostStartCommand: cmd(`"echo started; exec sleep 600"`)}
	a := startAgent(t, f, func(c *agent.Config) { c.Devcontainer, c.StateDir = spec, t.TempDir() })
	c := f.client(t)
	payload, _ := json.Marshal(agent.LifecycleStatus{Seq: -1})
	for {
		_, reply, err := c.SendRequest(agent.LifecycleRequest, true, payload)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(reply), `"running":"postStartCommand"`) {
			break
		}
		payload = reply
	}
	c.Close()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleWaitFor: the agent reports Ready once the waitFor hook
// finished, while a later hook still runs; Done comes after it. Without
// waitFor, updateContentCommand is the one.
func TestLifecycleWaitFor(t *testing.T) {
	for _, tc := range []struct{ waitFor string }{{"onCreateCommand"}, {""}} {
		ws := t.TempDir()
		spec := &agent.Devcontainer{
			OnCreateCommand: cmd(`"true"`), UpdateContentCommand: cmd(`"true"`),
			PostCreateCommand: cmd(`"until [ -e go ]; do sleep 0.05; done"`),
			WorkspaceFolder:   ws, WaitFor: tc.waitFor,
		}
		f := newFixture(t)
		startAgent(t, f, func(c *agent.Config) { c.Devcontainer, c.StateDir = spec, t.TempDir() })
		c := f.client(t)
		st := agent.LifecycleStatus{Seq: -1}
		for !st.Ready {
			payload, _ := json.Marshal(st)
			ok, reply, err := c.SendRequest(agent.LifecycleRequest, true, payload)
			if err != nil || !ok || json.Unmarshal(reply, &st) != nil {
				t.Fatalf("%s: ok %v, %v", agent.LifecycleRequest, ok, err)
			}
			if st.Failed != "" || st.Done {
				t.Fatalf("waitFor %q: not ready before the end: %+v", tc.waitFor, st)
			}
		}
		if err := os.WriteFile(filepath.Join(ws, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if st := lifecycleStatus(t, c); !st.Done || !st.Ready || st.Failed != "" {
			t.Fatalf("waitFor %q: after postCreateCommand: %+v", tc.waitFor, st)
		}
	}
}

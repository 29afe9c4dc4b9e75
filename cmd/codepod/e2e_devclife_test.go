package main_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// devclifeConfig exercises every lifecycle hook in all three command
// forms, the session user and environment, and a port served by a
// daemon postStartCommand starts. The hooks append to /tmp/hooks.log, so
// the test reads their order from the sandbox.
const devclifeConfig = `{
  "image": "codepod/tiny:latest",
  "remoteUser": "nobody",
  "containerEnv": {"BASE": "/opt/base"},
  "remoteEnv": {"TOOLS": "${containerEnv:BASE}/tools", "EDITOR": "vi"},
  "workspaceFolder": "/tmp",
  "waitFor": "postStartCommand",
  "onCreateCommand": "echo onCreate $(whoami) $PWD >> /tmp/hooks.log",
  "updateContentCommand": ["sh", "-c", "echo updateContent $TOOLS >> /tmp/hooks.log"],
  "postCreateCommand": {
    "a": "echo postCreate-a >> /tmp/hooks.log",
    "b": ["sh", "-c", "echo postCreate-b >> /tmp/hooks.log; echo made by postCreate"]
  },
  "postStartCommand": "echo postStart >> /tmp/hooks.log; mkdir -p /tmp/www && echo hello-from-httpd > /tmp/www/index.html && httpd -p 18080 -h /tmp/www >/dev/null 2>&1",
  "postAttachCommand": "echo postAttach >> /tmp/hooks.log",
  "forwardPorts": [18080],
  "portsAttributes": {"18080": {"label": "web preview", "onAutoForward": "notify"}},
  // a comment, as VS Code writes them
}`

// TestDevcontainerInside: a sandbox made from a devcontainer.json runs its
// lifecycle in the spec's order (postStartCommand again after a restart,
// postAttachCommand when a terminal opens), sessions (exec, OpenSSH, a
// terminal) run as remoteUser with remoteEnv in the workspace folder,
// `port-forward NAME` reaches the daemon postStartCommand started, and
// a failing hook or a refused property answers with a message naming it
// and leaves no container — through the CLI and the API.
func TestDevcontainerInside(t *testing.T) {
	c := newCluster(t, "--max-cpu", "4")
	c.startRunner("dc", t.TempDir())
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	id := c.must("sandbox", "create", "devlife", "--devcontainer", write("life.json", devclifeConfig), "--wait")
	hooks := func() string { return c.must("sandbox", "exec", id, "--", "cat", "/tmp/hooks.log") }

	t.Run("hooks in order", func(t *testing.T) {
		lines := strings.Split(hooks(), "\n")
		if len(lines) != 5 || lines[0] != "onCreate nobody /tmp" || lines[1] != "updateContent /opt/base/tools" || lines[4] != "postStart" {
			t.Fatalf("hooks.log:\n%s", strings.Join(lines, "\n"))
		}
		if mid := lines[2] + " " + lines[3]; !strings.Contains(mid, "postCreate-a") || !strings.Contains(mid, "postCreate-b") {
			t.Fatalf("parallel postCreateCommand: %q", mid)
		}
		logs := c.must("sandbox", "logs", id)
		for _, want := range []string{"[devcontainer] running onCreateCommand", "[devcontainer] running postStartCommand", "made by postCreate"} {
			if !strings.Contains(logs, want) {
				t.Errorf("sandbox logs lack %q:\n%s", want, logs)
			}
		}
	})

	t.Run("exec user env cwd", func(t *testing.T) {
		got := c.must("sandbox", "exec", id, "--", "sh", "-c", `echo "$(whoami)|$TOOLS|$EDITOR|$BASE|$PWD"`)
		if want := "nobody|/opt/base/tools|vi|/opt/base|/tmp"; got != want {
			t.Fatalf("exec: %q, want %q", got, want)
		}
		var res execResult
		c.mustAPI("POST", "/api/v1/sandboxes/"+id+"/exec", execRequest{Shell: `echo "$(whoami)|$TOOLS"`}, &res, http.StatusOK)
		if res.Stdout != "nobody|/opt/base/tools\n" {
			t.Fatalf("REST exec: %q", res.Stdout)
		}
	})

	t.Run("openssh and terminal", func(t *testing.T) {
		s := newSSHSetup(t, c, "devlife")
		r := s.ssh(t, nil, nil, `echo "$(whoami)|$TOOLS|$PWD"`)
		if got := strings.TrimSpace(string(r.stdout)); r.code != 0 || got != "nobody|/opt/base/tools|/tmp" {
			t.Fatalf("ssh: exit %d, %q, stderr %q", r.code, got, r.stderr)
		}
		r = s.ssh(t, nil, []string{"-tt"}, `echo "tty:$(whoami)|$EDITOR"`)
		if r.code != 0 || !strings.Contains(string(r.stdout), "tty:nobody|vi") {
			t.Fatalf("ssh -tt: exit %d, %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		waitFor(t, "postAttachCommand after a terminal session", func() bool { return strings.Contains(hooks(), "postAttach") })
	})

	t.Run("port-forward all", func(t *testing.T) {
		get := c.must("sandbox", "get", id)
		if !strings.Contains(get, "18080 (web preview, notify)") {
			t.Fatalf("get lacks the forwarded port:\n%s", get)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pf := exec.CommandContext(ctx, binaries(t), "sandbox", "port-forward", id)
		pf.Env = c.cliEnv(cliOpts{})
		stderr, _ := pf.StderrPipe()
		if err := pf.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { pf.Process.Kill(); pf.Wait() }()
		line, err := bufio.NewReader(stderr).ReadString('\n')
		m := regexp.MustCompile(`Forwarding (127\.0\.0\.1:\d+) -> \S+:18080 \(web preview\)`).FindStringSubmatch(line)
		if err != nil || m == nil {
			t.Fatalf("port-forward printed %q (%v)", line, err)
		}
		go io.Copy(io.Discard, stderr)
		resp, err := c.HTTP.Get("http://" + m[1] + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) != "hello-from-httpd" {
			t.Fatalf("through port-forward: %q", body)
		}
	})

	t.Run("postStart again after restart", func(t *testing.T) {
		c.must("sandbox", "stop", id)
		c.waitStatus(id, "stopped", 2*time.Minute)
		c.must("sandbox", "start", id)
		c.waitStatus(id, "running", 2*time.Minute)
		log := hooks()
		if strings.Count(log, "onCreate") != 1 || strings.Count(log, "postCreate-a") != 1 || strings.Count(log, "postStart") != 2 {
			t.Fatalf("after a restart, hooks.log:\n%s", log)
		}
	})
	c.must("sandbox", "delete", id)

	t.Run("failing postCreateCommand", func(t *testing.T) {
		bad := write("bad.json", `{"image": "codepod/tiny:latest", "onCreateCommand": "echo fine", "waitFor": "postCreateCommand",
		  "postCreateCommand": ["sh", "-c", "echo installing deps; echo cannot find left-pad >&2; exit 3"]}`)
		_, errOut, code := c.cli("sandbox", "create", "devbad", "--devcontainer", bad, "--wait")
		if code == 0 || !strings.Contains(errOut, "postCreateCommand") || !strings.Contains(errOut, "cannot find left-pad") || !strings.Contains(errOut, "failed: exit 3") {
			t.Fatalf("failing postCreateCommand: exit %d\n%s", code, errOut)
		}
		m := regexp.MustCompile(`deleted sandbox devbad \((\S+)\)`).FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("create --wait did not delete the failed sandbox:\n%s", errOut)
		}
		waitFor(t, "no container of the failed sandbox", func() bool { return len(containers(t, m[1])) == 0 })
		_, errOut, code = c.cli("sandbox", "create", "devkept", "--devcontainer", bad, "--wait", "--keep-on-failure")
		if code == 0 {
			t.Fatalf("failing postCreateCommand with --keep-on-failure: exit 0\n%s", errOut)
		}
		sb := c.get("devkept")
		if sb.Status != "error" || !strings.Contains(sb.Reason, `devcontainer postCreateCommand ["sh","-c",`) || !strings.Contains(sb.Reason, "cannot find left-pad") {
			t.Fatalf("kept sandbox: %s: %q", sb.Status, sb.Reason)
		}
		out, _ := exec.Command("docker", "ps", "-q", "--filter", "label=dev.codepod.sandbox="+sb.ID).Output()
		if len(strings.TrimSpace(string(out))) != 0 {
			t.Fatalf("the failed sandbox's container still runs")
		}
		c.must("sandbox", "delete", "devkept")
	})

	t.Run("named volume", func(t *testing.T) {
		vol := write("vol.json", `{"image": "codepod/tiny:latest", "mounts": ["type=volume,source=cache,target=/cache"],
		  "onCreateCommand": "echo kept > /cache/f"}`)
		id := c.must("sandbox", "create", "devvol", "--devcontainer", vol, "--wait")
		volumes := func() string {
			out, err := exec.Command("docker", "volume", "ls", "-q", "--filter", "label=dev.codepod.sandbox="+id).Output()
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(out))
		}
		if got := volumes(); got != "codepod-"+id+"-cache" {
			t.Fatalf("volumes of the sandbox: %q", got)
		}
		if got := c.must("sandbox", "exec", id, "--", "cat", "/cache/f"); got != "kept" {
			t.Fatalf("/cache/f: %q", got)
		}
		c.must("sandbox", "delete", id)
		waitFor(t, "the sandbox's volume removed with it", func() bool { return volumes() == "" })
	})

	t.Run("refused through the API", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, tc := range []struct {
			dc   map[string]any
			want string
		}{
			{map[string]any{"privileged": true}, "privileged refused by this server's policy"},
			{map[string]any{"capAdd": []string{"SYS_ADMIN"}, "mounts": []any{map[string]any{"type": "bind", "source": "/", "target": "/host"}}}, "capAdd, mounts[0] refused"},
			{map[string]any{"hostRequirements": map[string]any{"cpus": 64}}, "hostRequirements.cpus 64 is above this server's maximum of 4 cores"},
			{map[string]any{"postStartCommand": 7}, "devcontainer: "},
		} {
			status, raw, err := c.api(ctx, "POST", "/api/v1/sandboxes", map[string]any{"image": "codepod/tiny:latest", "devcontainer": tc.dc}, nil)
			if err != nil || status != http.StatusUnprocessableEntity && status != http.StatusBadRequest || !strings.Contains(string(raw), tc.want) {
				t.Errorf("devcontainer %v: %d %v %s; want a problem naming %q", tc.dc, status, err, raw, tc.want)
			}
		}
		var list struct {
			Items []apiSandbox `json:"items"`
		}
		c.mustAPI("GET", "/api/v1/sandboxes", nil, &list, http.StatusOK)
		for _, sb := range list.Items {
			if sb.Status != "deleting" && sb.Status != "deleted" {
				t.Fatalf("refused creates left sandbox %s (%s)", sb.Name, sb.Status)
			}
		}
		sb, err := c.createSandboxAPI(ctx, map[string]any{"image": "codepod/tiny:latest", "cpu": 0.5, "devcontainer": map[string]any{
			"remoteUser": "nobody", "postCreateCommand": []string{"sh", "-c", "echo api > /tmp/api.txt"},
		}}, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var res execResult
		c.mustAPI("POST", "/api/v1/sandboxes/"+sb.ID+"/exec", execRequest{Shell: `echo "$(whoami) $(cat /tmp/api.txt)"`}, &res, http.StatusOK)
		if res.Stdout != "nobody api\n" {
			t.Fatalf("API-made devcontainer sandbox: %q", res.Stdout)
		}
		c.must("sandbox", "delete", sb.ID)
	})
}

// waitFor polls cond (each call is a round trip to the sandbox) until it
// holds, failing the test after a generous deadline.
// TestDevcontainerWaitFor: with waitFor, create --wait returns once that
// hook finished while later ones run on in the background (exec works,
// the logs show them), and a later hook's failure stops the container and
// puts the sandbox in error with the hook and its output as the reason.
func TestDevcontainerWaitFor(t *testing.T) {
	c := newCluster(t)
	stateDir := t.TempDir()
	runner := c.startRunner("dc", stateDir)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Ready after onCreateCommand: postCreateCommand waits for a file
	// the test makes once create --wait has returned.
	cfg := write("waitfor.json", `{"image": "codepod/tiny:latest", "waitFor": "onCreateCommand",
	  "onCreateCommand": "echo onCreate >> /tmp/hooks.log",
	  "postCreateCommand": "until [ -e /tmp/go ]; do sleep 1; done; echo postCreate >> /tmp/hooks.log; printf 'post%s\\n' Create-finished"}`)
	id := c.must("sandbox", "create", "devwait", "--devcontainer", cfg, "--wait")
	if sb := c.get(id); sb.Status != "running" {
		t.Fatalf("after create --wait: %s (%s)", sb.Status, sb.Reason)
	}
	if got := c.must("sandbox", "exec", id, "--", "cat", "/tmp/hooks.log"); got != "onCreate" {
		t.Fatalf("hooks.log while postCreateCommand waits: %q", got)
	}
	logs := c.must("sandbox", "logs", id)
	if !strings.Contains(logs, "[devcontainer] ready (waitFor onCreateCommand done)") || !strings.Contains(logs, "[devcontainer] running postCreateCommand") || strings.Contains(logs, "postCreate-finished") {
		t.Fatalf("sandbox logs while postCreateCommand waits:\n%s", logs)
	}
	c.must("sandbox", "exec", id, "--", "touch", "/tmp/go")
	waitFor(t, "postCreateCommand finished in the background", func() bool {
		return strings.Contains(c.must("sandbox", "logs", id), "postCreate-finished")
	})
	if got := c.must("sandbox", "exec", id, "--", "cat", "/tmp/hooks.log"); got != "onCreate\npostCreate" {
		t.Fatalf("hooks.log: %q", got)
	}
	if sb := c.get(id); sb.Status != "running" {
		t.Fatalf("after postCreateCommand: %s (%s)", sb.Status, sb.Reason)
	}
	c.must("sandbox", "delete", id)

	// The default waitFor (updateContentCommand): a postCreateCommand
	// that fails after create --wait returned stops the container and
	// puts the sandbox in error at once (the runner reports it; no
	// waiting for an inventory), its reason naming the hook, its command
	// and its output.
	late := write("late.json", `{"image": "codepod/tiny:latest", "onCreateCommand": "echo fine",
	  "postCreateCommand": "until [ -e /tmp/go ]; do sleep 1; done; echo broke-late >&2; exit 5"}`)
	id = c.must("sandbox", "create", "devlate", "--devcontainer", late, "--wait")
	// The runner that followed the hook dies while it runs; the one
	// started in its place follows it again (nothing else would stop
	// the container: the agent only reports the failure).
	runner.kill()
	runner = startProc(t, "runner dc again", c.RunnerEnv, "runner", "--server", c.URL, "--state-dir", stateDir, "--name", "dc",
		"--agent-binary", filepath.Join(binDir, "codepod-agent"), "--reconcile-interval", "2s")
	c.must("sandbox", "exec", id, "--", "touch", "/tmp/go")
	sb := c.waitStatus(id, "error", 2*time.Minute)
	waitFor(t, "the failed sandbox's container stopped", func() bool {
		out, err := exec.Command("docker", "ps", "-q", "--filter", "label=dev.codepod.sandbox="+id).Output()
		return err == nil && len(strings.TrimSpace(string(out))) == 0
	})
	if !strings.Contains(sb.Reason, `devcontainer postCreateCommand "until [ -e /tmp/go ]`) || !strings.Contains(sb.Reason, "failed: exit 5") || !strings.Contains(sb.Reason, "broke-late") {
		t.Fatalf("a later hook's failure: %s: %q", sb.Status, sb.Reason)
	}
	c.must("sandbox", "delete", id)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		<-time.After(100 * time.Millisecond)
	}
}

// BenchmarkDevcontainerCreateToRunning measures POST /sandboxes until GET
// says running for a devcontainer sandbox whose five hooks each run `true`
// (the lifecycle's own cost), beside the plain create as the baseline:
//
//	go test -run '^$' -bench 'DevcontainerCreateToRunning' -benchtime 5x ./cmd/codepod/
//
// (at most 5x: the admin's default quota is 10 sandboxes)
func BenchmarkDevcontainerCreateToRunning(b *testing.B) {
	c, _, _ := benchCluster(b)
	hooks := map[string]any{"image": "codepod/tiny:latest", "memory": "64m", "devcontainer": map[string]any{
		"onCreateCommand": "true", "updateContentCommand": []string{"true"}, "postCreateCommand": map[string]any{"a": "true", "b": "true"},
		"postStartCommand": "true",
	}}
	for _, bc := range []struct {
		name string
		spec map[string]any
	}{{"plain", tinySpec}, {"devcontainer", hooks}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			var ids []string
			for i := 0; i < b.N; i++ {
				sb, err := c.createSandboxAPI(ctx, bc.spec, 20*time.Millisecond)
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, sb.ID)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
			deleteAll(b, c, ids)
		})
	}
}

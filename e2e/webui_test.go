package e2e_test

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/internal/testenv"
)

// axeSource is axe-core (npm axe-core 4.14.1, MPL-2.0, testdata/axe.LICENSE),
// injected into the page by the test only: the UI does not ship it.
//
//go:embed testdata/axe.min.js
var axeSource string

// newBrowser starts a headless Chromium with a fresh profile (skipping or
// failing without it, as testenv decides) and returns a tab's context that
// accepts confirm() dialogs (the UI asks before deleting).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	chromium := testenv.Command(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}

// webUI is one browser session against a `codepod server` process (srv,
// at base) and a runner.
type webUI struct {
	t     *testing.T
	c     *cluster
	srv   *serverProcess
	base  string
	ctx   context.Context
	shots string
}

// TestWebUI drives the web UI in headless Chromium against a `codepod
// server` process and a runner on Docker: password sign-in (and a
// wrong password), create from the form (a validation error shown next to
// its field and kept), the live list, the detail page (SSH line, files,
// terminal with resize, and reconnect after the server process is killed
// and started again), TTL extension, processes, ports and preview links,
// network policy, API keys, runners,
// a second user's view, the 390 px layout and axe-core on every main page.
func TestWebUI(t *testing.T) {
	start := time.Now()
	c, srv := startServerCluster(t)
	t.Logf("codepod server and runner up in %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, u := range []map[string]any{
		{"email": "ada@example.com", "name": "Ada", "password": "correct horse battery", "admin": true},
		{"email": "bob@example.com", "name": "Bob", "password": "battery staple horse"},
	} {
		if err := c.call(ctx, "POST", "/api/v1/users", u, nil, http.StatusCreated); err != nil {
			t.Fatal(err)
		}
	}
	var bob struct{ Token string }
	if err := c.call(ctx, "POST", "/api/v1/auth/login", map[string]any{"email": "bob@example.com", "password": "battery staple horse"}, &bob, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("CODEPOD_WEBUI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	bctx, bcancel := context.WithTimeout(newBrowser(t), 6*time.Minute)
	defer bcancel()
	ui := &webUI{t: t, c: c, srv: srv, base: c.URL, ctx: bctx, shots: shots}
	var ids []string
	t.Cleanup(func() {
		for _, id := range ids {
			c.raw(context.Background(), "DELETE", "/api/v1/sandboxes/"+id, nil, "")
		}
	})

	ui.signIn()
	id := ui.createFromForm()
	ids = append(ids, id)
	ui.detail(id)
	ui.files(id)
	ui.logs(id)
	ui.lifetime(id)
	ui.processes(id)
	ui.ports(id)
	ui.terminal(id)
	after := ui.reconnect()
	ids = append(ids, after)
	ui.declaredPorts(after)
	ids = append(ids, ui.networkPolicy())
	ui.keys()
	ui.workspaces()
	ui.runners()
	ui.users()
	ui.narrow(id)
	ui.crossSite(id)
	ui.stopStart(id)
	ui.secondUser(bob.Token, id)
	ui.viewer()
	t.Logf("web UI test took %s; screenshots in %s", time.Since(start).Round(time.Millisecond), shots)
}

func (u *webUI) signIn() {
	u.step("open the sign-in page",
		chromedp.Navigate(u.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)))
	u.axe("sign-in")
	u.shot("signin")
	u.step("a wrong password is refused",
		chromedp.SendKeys(chromedp.CSS(`#email`), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "wrong password"),
		chromedp.Click(chromedp.CSS(`#signin-password button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#signin-password .form-error`)))
	if msg := u.eval(`document.querySelector('#signin-password .form-error').textContent`); !strings.Contains(msg, "wrong email or password") {
		u.t.Errorf("a wrong password shows %q", msg)
	}
	u.step("sign in with the password",
		chromedp.SetValue(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`#signin-password button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#nav-sandboxes`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state=live]`)))
	if leak := u.eval(`JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie`); strings.Contains(leak, "cpk_") || strings.Contains(leak, "codepod_session") {
		u.t.Errorf("a credential is visible to scripts: %s", leak)
	}
	u.axe("sandboxes (empty)")
}

// createFromForm fails a create (a name too long: the API's errors[] puts
// it next to the field), fixes it, and watches the list reach running.
func (u *webUI) createFromForm() string {
	long := strings.Repeat("x", 70)
	u.step("open the form", chromedp.Click(chromedp.CSS(`#new-sandbox`)), chromedp.WaitVisible(chromedp.CSS(`#create`)))
	u.axe("create form")
	u.step("a validation error shows next to the field",
		chromedp.SetValue(chromedp.CSS(`#f-name`), long),
		chromedp.SetValue(chromedp.CSS(`#f-image`), "codepod/tiny:latest"),
		chromedp.SetValue(chromedp.CSS(`#f-memory`), "64m"),
		chromedp.SetValue(chromedp.CSS(`#f-labels`), "team=web"),
		chromedp.Click(chromedp.CSS(`#create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#err-name`)))
	u.shot("create-error")
	if got := u.eval(`document.querySelector('#f-name').getAttribute('aria-describedby') + '|' + document.querySelector('#f-name').value + '|' + document.querySelector('#f-memory').value`); got != "err-name|"+long+"|64m" {
		u.t.Errorf("after the error the form holds %q; want the error tied to the field and the values kept", got)
	}
	if msg := u.eval(`document.querySelector('#err-name').textContent`); !strings.Contains(msg, "63") {
		u.t.Errorf("the name's error says %q; want the API's message about its length", msg)
	}
	u.step("the error is still there a moment later", chromedp.WaitVisible(chromedp.CSS(`#err-name`)))
	u.step("create it",
		chromedp.SetValue(chromedp.CSS(`#f-name`), "ui-main"),
		chromedp.Click(chromedp.CSS(`#create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sb-name`)))
	id := strings.TrimPrefix(strings.SplitN(u.eval(`location.hash`), "/", 4)[2], "")
	u.eval(`window.__noReload = 1`)
	u.step("the list shows it running without a reload",
		chromedp.Click(chromedp.CSS(`#nav-sandboxes`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-main"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-main"][data-status="running"]`)))
	if u.eval(`String(window.__noReload)`) != "1" {
		u.t.Error("the page reloaded")
	}
	u.step("/ focuses the search", chromedp.KeyEvent("/"))
	if f := u.eval(`document.activeElement.id`); f != "search" {
		u.t.Errorf("after /, the focus is on %q, want the search box", f)
	}
	u.step("search by name",
		chromedp.SendKeys(chromedp.CSS(`#search`), "nomatch"),
		chromedp.WaitVisible(chromedp.CSS(`#empty`)))
	u.eval(`(s => { s.value = ''; s.dispatchEvent(new Event('input')); })(document.querySelector('#search'))`)
	u.step("clear the search", chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-main"]`)))
	u.axe("sandboxes")
	u.shot("sandboxes")
	u.dark()
	return id
}

func (u *webUI) detail(id string) {
	u.step("open the detail page",
		chromedp.Click(chromedp.CSS(`#sandboxes tr[data-name="ui-main"] th a`)),
		chromedp.WaitVisible(chromedp.CSS(`#ssh-line`)),
		discard(chromedp.Poll[bool](`document.querySelector('#fingerprint').textContent.startsWith('SHA256:')`)))
	if got := u.eval(`document.querySelector('#ssh-line').textContent + '|' + document.querySelector('#ssh-config').textContent`); got != "ssh codepod-ui-main|codepod ssh-config ui-main >> ~/.ssh/config" {
		u.t.Errorf("the SSH lines read %q", got)
	}
	u.axe("sandbox overview")
	u.shot("sandbox")
	u.step("activity", chromedp.Click(chromedp.CSS(`#tab-activity`)), chromedp.WaitVisible(chromedp.CSS(`#activity li`)))
}

func (u *webUI) files(id string) {
	data := make([]byte, 48<<10)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	local := filepath.Join(u.t.TempDir(), "up.bin")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		u.t.Fatal(err)
	}
	u.step("upload a file",
		chromedp.Click(chromedp.CSS(`#tab-files`)),
		chromedp.WaitVisible(chromedp.CSS(`#files-path`)),
		chromedp.SetValue(chromedp.CSS(`#files-path`), "/tmp"),
		chromedp.Click(chromedp.CSS(`#panel-files form button[type=submit]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#files-upload`), []string{local}),
		chromedp.WaitVisible(chromedp.CSS(`#files tr[data-path="/tmp/up.bin"] a.download`)))
	u.shot("files")
	got, err := chromedp.Run(u.ctx, chromedp.Evaluate[string](`fetch(document.querySelector('#files tr[data-path="/tmp/up.bin"] a.download').href)
		.then(r => r.arrayBuffer()).then(b => { let s = ''; new Uint8Array(b).forEach(c => s += String.fromCharCode(c)); return btoa(s); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		u.t.Fatalf("download: %v", err)
	}
	if back, _ := base64.StdEncoding.DecodeString(got); !bytes.Equal(back, data) {
		u.t.Errorf("the download (%d bytes) differs from the upload (%d bytes)", len(back), len(data))
	}
	if st, err := chromedp.Run(u.ctx, chromedp.Evaluate[string](`fetch('/api/v1/sandboxes/`+id+`/files?path=/tmp/x.txt', {method: 'PUT', headers: {'X-CSRF-Token': 'forged'}, body: 'x'}).then(r => String(r.status))`, chromedp.EvalAwaitPromise)); err != nil || st != "403" {
		u.t.Errorf("a write with a wrong CSRF token got %s (%v), want 403", st, err)
	}
	u.step("delete the upload",
		chromedp.Click(chromedp.CSS(`#files tr[data-path="/tmp/up.bin"] button.delete`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#files tr[data-path="/tmp/up.bin"]`)))
}

func (u *webUI) terminal(id string) {
	u.step("open the terminal",
		chromedp.Click(chromedp.CSS(`#tab-terminal`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal .xterm-rows`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-status[data-state=connected]`)))
	u.typeLine("echo hello-from-browser")
	u.waitLine("hello-from-browser")
	u.typeLine("stty size")
	before := u.waitMatch(func(l string) bool { return sttySize(l) })
	u.step("resize the window",
		chromedp.EmulateViewport(900, 560),
		discard(chromedp.Poll[bool](`true`)))
	// The new size reaches the shell after the browser has laid the page
	// out again, refitted the terminal and sent it over the WebSocket: a
	// line typed at once can run before it (CI's screen showed the old size,
	// then busybox redrawing its prompt on the late SIGWINCH). Ask again, as
	// a user would; a resize that never arrives still fails at the deadline.
	var after string
	for ok := false; !ok; {
		u.typeLine("clear; stty size")
		after, ok = u.waitMatchFor(3*time.Second, func(l string) bool { return sttySize(l) && l != before })
	}
	u.t.Logf("stty size %q → %q after the resize", before, after)
	u.step("full screen", chromedp.EmulateViewport(1280, 860), chromedp.Click(chromedp.CSS(`#terminal-full`)),
		chromedp.WaitVisible(chromedp.CSS(`#term-wrap.fullscreen`)))
	u.shot("terminal-fullscreen")
	u.step("leave full screen", chromedp.Click(chromedp.CSS(`#terminal-full`)), chromedp.WaitNotPresent(chromedp.CSS(`#term-wrap.fullscreen`)))
	u.shot("terminal")
}

// logs follows the sandbox's log in the Logs tab: lines the sandbox
// appends to /.codepod/run/main.log appear without a reload, read by
// offset (the files API's ?offset=, checked here too).
func (u *webUI) logs(id string) {
	const logPath = "/.codepod/run/main.log"
	u.eval(`window.__noReload = 2`)
	u.step("open the logs tab",
		chromedp.Click(chromedp.CSS(`#tab-logs`)),
		chromedp.WaitVisible(chromedp.CSS(`#logs-status[data-state]`)))
	state := u.eval(`document.querySelector('#logs-status').dataset.state + '|' + document.querySelector('#logs-status').textContent`)
	u.t.Logf("the logs tab opens with %q", state)
	if !strings.HasPrefix(state, "empty|No log yet") && !strings.HasPrefix(state, "following|") {
		u.t.Errorf("the logs tab opens with %q", state)
	}
	before := u.eval(`document.querySelector('#logs-text').textContent.length`)
	shell := func(script string) {
		u.t.Helper()
		var res struct {
			ExitCode int `json:"exit_code"`
			Stderr   string
		}
		if err := u.c.call(u.ctx, "POST", "/api/v1/sandboxes/"+id+"/exec", map[string]any{"shell": script}, &res, http.StatusOK); err != nil || res.ExitCode != 0 {
			u.t.Fatalf("%s: %v %+v", script, err, res)
		}
	}
	appendLog := func(line string) { u.t.Helper(); shell("echo " + line + " >> " + logPath) }
	// Without the file (tiny's /bin/sh made an empty one: remove it) the
	// tab says so, and keeps looking.
	shell("rm -f " + logPath)
	u.step("no log yet", chromedp.WaitVisible(chromedp.CSS(`#logs-status[data-state=empty]`)))
	if msg := u.eval(`document.querySelector('#logs-status').textContent`); !strings.Contains(msg, logPath+" does not exist") {
		u.t.Errorf("without a log the tab says %q", msg)
	}
	appendLog("first-log-line")
	u.step("the line appears without a reload",
		discard(chromedp.Poll[bool](`document.querySelector('#logs-text').textContent.includes('first-log-line\n')`)),
		chromedp.WaitVisible(chromedp.CSS(`#logs-status[data-state=following]`)))
	appendLog("second-log-line")
	u.step("a second line appears later",
		discard(chromedp.Poll[bool](`document.querySelector('#logs-text').textContent.endsWith('first-log-line\nsecond-log-line\n')`)))
	if got := u.eval(`String(window.__noReload) + ' ' + (document.querySelector('#logs-text').textContent.split('first-log-line').length - 1)`); got != "2 1" {
		u.t.Errorf("reload marker and count of the first line: %q, want \"2 1\" (no reload, no line twice; the tab held %s characters before)", got, before)
	}
	u.axe("logs tab")
	u.shot("logs")
	// The offset the tab uses: the rest of the file from there; past the
	// end a 416 that says what to do.
	q := "/api/v1/sandboxes/" + id + "/files?path=" + logPath
	_, whole, err := u.c.raw(u.ctx, "GET", q, nil, "")
	if err != nil || !bytes.HasSuffix(whole, []byte("first-log-line\nsecond-log-line\n")) {
		u.t.Fatalf("the log reads %q (%v)", whole, err)
	}
	st, rest, err := u.c.raw(u.ctx, "GET", fmt.Sprintf("%s&offset=%d", q, len(whole)-len("second-log-line\n")), nil, "")
	if err != nil || st != http.StatusOK || string(rest) != "second-log-line\n" {
		u.t.Errorf("from the second line's offset: %d %q (%v)", st, rest, err)
	}
	if st, body, _ := u.c.raw(u.ctx, "GET", fmt.Sprintf("%s&offset=%d", q, len(whole)+1), nil, ""); st != http.StatusRequestedRangeNotSatisfiable || !strings.Contains(string(body), "read it again from offset 0") {
		u.t.Errorf("an offset past the end: %d %s", st, body)
	}
}

// reconnect kills the `codepod server` process (SIGKILL) and starts it
// again on the same database and port, as an operator's restart (or a
// crash) looks to the browser: every connection drops, the port refuses
// for a moment. The terminal says it dropped, retries by itself and works
// again; the live list comes back and still updates, without a reload. It
// returns the id of the sandbox it creates.
func (u *webUI) reconnect() string {
	before := u.eval(`document.querySelector('#terminal-status').dataset.connects`)
	u.eval(`window.__noReload = 3`)
	t0 := time.Now()
	u.srv.restart()
	u.t.Logf("codepod server killed and started again in %s", time.Since(t0).Round(time.Millisecond))
	u.step("the terminal reconnects by itself",
		discard(chromedp.Poll[bool](`document.querySelector('#terminal-status').dataset.connects !== '`+before+`'`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-status[data-state=connected]`)))
	if d := u.eval(`document.querySelector('#terminal .xterm-rows').textContent`); !strings.Contains(d, "disconnected") {
		u.t.Errorf("the terminal did not say it was disconnected")
	}
	u.step("click into the terminal", chromedp.Click(chromedp.CSS(`#terminal .xterm-screen`)))
	u.typeLine("echo back-$((40+2))")
	u.waitLine("back-42")
	u.step("the list is live again",
		chromedp.Click(chromedp.CSS(`#nav-sandboxes`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state=live]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-main"]`)))
	// Created by ada (the list shows her own sandboxes) with a key of hers.
	var ada struct{ Token string }
	if err := u.c.call(u.ctx, "POST", "/api/v1/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, &ada, http.StatusOK); err != nil {
		u.t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(u.ctx, "POST", u.c.URL+"/api/v1/sandboxes",
		strings.NewReader(`{"name": "ui-after-restart", "image": "codepod/tiny:latest", "memory": "64m",
			"devcontainer": {"forwardPorts": ["3000", "db:5432"], "portsAttributes": {"3000": {"label": "app"}}}}`))
	req.Header.Set("Authorization", "Bearer "+ada.Token)
	req.Header.Set("Content-Type", "application/json")
	var sb struct{ ID string }
	res, err := u.c.HTTP.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&sb)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || err != nil {
		u.t.Fatalf("create as ada: %s (%v)", res.Status, err)
	}
	wctx, wcancel := context.WithTimeout(u.ctx, 90*time.Second)
	defer wcancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-after-restart"][data-status="running"]`))); err != nil {
		var now struct{ Status, Reason string }
		aerr := u.c.call(u.ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &now, http.StatusOK)
		rows := u.eval(`Array.from(document.querySelectorAll('#sandboxes tr[data-name]')).map(r => r.dataset.name + ':' + r.dataset.status).join(' ') + ' live=' + document.querySelector('#live').dataset.state`)
		u.t.Fatalf("a sandbox created after the restart: %v; the list shows %s; the API says %+v (%v)", err, rows, now, aerr)
	}
	if got := u.eval(`String(window.__noReload)`); got != "3" {
		u.t.Errorf("the page reloaded (marker %q)", got)
	}
	return sb.ID
}

func (u *webUI) networkPolicy() string {
	u.step("create with a network policy",
		chromedp.Navigate(u.base+"/ui/#/new"),
		chromedp.WaitVisible(chromedp.CSS(`#create`)),
		chromedp.SetValue(chromedp.CSS(`#f-name`), "ui-policy"),
		chromedp.SetValue(chromedp.CSS(`#f-image`), "codepod/tiny:latest"),
		chromedp.SetValue(chromedp.CSS(`#f-memory`), "64m"),
		chromedp.SetValue(chromedp.CSS(`#f-disk`), "128m"),
		chromedp.SetValue(chromedp.CSS(`#f-policy_mode`), "allow"),
		chromedp.SetValue(chromedp.CSS(`#f-allow`), "203.0.113.0/24\napi.example.com"),
		chromedp.SetValue(chromedp.CSS(`#f-deny`), "198.51.100.7"),
		chromedp.Click(chromedp.CSS(`#create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sb-name`)))
	id := strings.SplitN(u.eval(`location.hash`), "/", 4)[2]
	u.step("the detail page shows the policy",
		chromedp.Click(chromedp.CSS(`#tab-network`)),
		chromedp.WaitVisible(chromedp.CSS(`#policy-mode`)))
	if got := u.eval(`['#policy-mode', '#policy-allow', '#policy-deny'].map(s => document.querySelector(s).textContent).join('|')`); got != "allow|203.0.113.0/24api.example.com|198.51.100.7" {
		u.t.Errorf("the network tab shows %q", got)
	}
	u.axe("network tab")
	u.shot("network")
	// This runner enforces no policies (no iptables here), so the sandbox
	// is in error and the API refuses a change: the page shows why.
	u.step("change the policy from the page",
		chromedp.SetValue(chromedp.CSS(`#edit-mode`), "internet"),
		chromedp.SetValue(chromedp.CSS(`#edit-allow`), "203.0.113.0/24"),
		chromedp.Click(chromedp.CSS(`#policy-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#errors .error`)))
	if msg := u.eval(`document.querySelector('#errors .error-text').textContent`); !strings.Contains(msg, "network policy") {
		u.t.Errorf("changing the policy of a sandbox in error shows %q", msg)
	}
	u.step("dismiss the error", chromedp.Click(chromedp.CSS(`#errors .error button`)), chromedp.WaitNotPresent(chromedp.CSS(`#errors .error`)))
	var sb struct {
		NetworkPolicy struct {
			Mode  string
			Allow []string
		} `json:"network_policy"`
		Disk string `json:"disk"`
	}
	if err := u.c.call(u.ctx, "GET", "/api/v1/sandboxes/"+id, nil, &sb, http.StatusOK); err != nil || sb.NetworkPolicy.Mode != "allow" || len(sb.NetworkPolicy.Allow) != 2 {
		u.t.Errorf("the API shows policy %+v (%v)", sb.NetworkPolicy, err)
	}
	if sb.Disk != "128m" {
		u.t.Errorf("the form's disk 128m made a sandbox with disk %q", sb.Disk)
	}
	return id
}

func (u *webUI) keys() {
	u.step("create a key",
		chromedp.Click(chromedp.CSS(`#nav-keys`)),
		chromedp.WaitVisible(chromedp.CSS(`#key-name`)),
		chromedp.SendKeys(chromedp.CSS(`#key-name`), "ui-key"),
		chromedp.Click(chromedp.CSS(`#create-key button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-key-value`)),
		chromedp.WaitVisible(chromedp.CSS(`#keys tr[data-name="ui-key"]`)))
	key := u.eval(`document.querySelector('#new-key-value').textContent`)
	u.axe("keys")
	u.shot("keys")
	if st, _, _ := u.rawAs(key, "/api/v1/me"); st != http.StatusOK {
		u.t.Errorf("the new key gets %d from /me", st)
	}
	u.step("revoke it",
		chromedp.Click(chromedp.CSS(`#keys tr[data-name="ui-key"] button.revoke`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#keys tr[data-name="ui-key"]`)))
	if st, _, _ := u.rawAs(key, "/api/v1/me"); st != http.StatusUnauthorized {
		u.t.Errorf("the revoked key gets %d from /me, want 401", st)
	}
}

func (u *webUI) runners() {
	u.step("the runner with its capacity",
		chromedp.Click(chromedp.CSS(`#nav-runners`)),
		chromedp.WaitVisible(chromedp.CSS(`#runners td.cap-sandboxes`)))
	if got := u.eval(`document.querySelector('#runners td.cap-sandboxes').textContent + '|' + document.querySelector('#runners td.cap-memory').textContent`); !strings.Contains(got, " / ") {
		u.t.Errorf("the runner's capacity reads %q", got)
	}
	u.axe("runners")
	u.shot("runners")
}

func (u *webUI) users() {
	u.step("users", chromedp.Click(chromedp.CSS(`#nav-users`)), chromedp.WaitVisible(chromedp.CSS(`#users tr[data-email="bob@example.com"]`)))
	u.axe("users")
	u.shot("users")
	bobID := u.eval(`Array.from(document.querySelectorAll('#reset-user option')).find(o => o.textContent === 'bob@example.com').value`)
	u.step("reset bob's password",
		chromedp.SetValue(chromedp.CSS(`#reset-user`), bobID),
		chromedp.SendKeys(chromedp.CSS(`#reset-password input[name=password]`), "a new password for bob"),
		chromedp.Click(chromedp.CSS(`#reset-password button[type=submit]`)),
		discard(chromedp.Poll[bool](`document.querySelector('#reset-done').textContent !== ''`)))
	if err := u.c.call(u.ctx, "POST", "/api/v1/auth/login", map[string]any{"email": "bob@example.com", "password": "a new password for bob"}, nil, http.StatusOK); err != nil {
		u.t.Errorf("bob's new password: %v", err)
	}
}

// narrow checks the 390 px layout of the main pages: no horizontal scroll.
func (u *webUI) narrow(id string) {
	for _, p := range []struct{ hash, ready string }{
		{"#/sandboxes", `#sandboxes tr[data-name="ui-main"]`},
		{"#/new", `#create`},
		{"#/sandboxes/" + id + "/overview", `#ssh-line`},
		{"#/sandboxes/" + id + "/terminal", `#terminal .xterm-rows`},
		{"#/sandboxes/" + id + "/processes", `#processes`},
		{"#/sandboxes/" + id + "/ports", `#preview-form`},
		{"#/keys", `#keys`},
		{"#/runners", `#runners`},
	} {
		u.step("390 px: "+p.hash, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
			chromedp.Navigate(u.base+"/ui/"+p.hash), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		if got := u.eval(`document.documentElement.scrollWidth + ' ' + innerWidth`); func() bool {
			var sw, iw int
			fmt.Sscan(got, &sw, &iw)
			return sw > iw
		}() {
			wide := u.eval(`Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > innerWidth + 1)
				.slice(0, 6).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join('; ')`)
			u.t.Errorf("at 390 px %s scrolls sideways (scrollWidth innerWidth: %s): %s", p.hash, got, wide)
		}
		if p.hash == "#/sandboxes" {
			u.shot("sandboxes-390")
		}
	}
	u.step("back to a laptop", chromedp.EmulateViewport(1280, 860))
}

// secondUser signs out and in as bob with an API key: he sees none of
// ada's sandboxes, and hers is a 404 to him.
func (u *webUI) secondUser(key, adasID string) {
	u.step("sign out",
		chromedp.Navigate(u.base+"/ui/#/sandboxes"),
		chromedp.WaitVisible(chromedp.CSS(`#signout`)),
		chromedp.Click(chromedp.CSS(`#signout`)),
		chromedp.WaitVisible(chromedp.CSS(`#email`)))
	u.step("sign in as bob with his key",
		chromedp.Click(chromedp.CSS(`details summary`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), key),
		chromedp.Click(chromedp.CSS(`#signin button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state=live]`)),
		chromedp.WaitVisible(chromedp.CSS(`#empty`)))
	if n := u.eval(`String(document.querySelectorAll('#sandboxes tr[data-id]').length) + document.querySelector('#who').textContent`); n != "0bob@example.com" {
		u.t.Errorf("bob's list: %q; want none of ada's sandboxes", n)
	}
	u.step("ada's sandbox is not found", chromedp.Navigate(u.base+"/ui/#/sandboxes/"+adasID), chromedp.WaitVisible(chromedp.CSS(`#errors .error`)))
	if msg := u.eval(`document.querySelector('#errors .error-text').textContent`); !strings.Contains(msg, "not") {
		u.t.Errorf("ada's sandbox shows bob %q", msg)
	}
}

// crossSite opens a web session from Go and plays a foreign site: its
// form post and its WebSocket to the terminal are refused, while the same
// WebSocket from the UI's own origin opens.
func (u *webUI) crossSite(id string) {
	body := strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery"}`)
	req, _ := http.NewRequestWithContext(u.ctx, "POST", u.c.URL+"/api/v1/auth/session", body)
	req.Header.Set("Content-Type", "application/json")
	res, err := u.c.HTTP.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		u.t.Fatalf("open a session: %v %v", res, err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		u.t.Fatal("no session cookie")
	}
	form, _ := http.NewRequestWithContext(u.ctx, "POST", u.c.URL+"/api/v1/sandboxes", strings.NewReader("name=evil&image=codepod/tiny:latest"))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form.Header.Set("Origin", "http://evil.example")
	form.Header.Set("Sec-Fetch-Site", "cross-site")
	form.AddCookie(cookie)
	if res, err := u.c.HTTP.Do(form); err != nil || res.StatusCode != http.StatusForbidden {
		u.t.Errorf("a cross-site form post got %v (%v), want 403", res.Status, err)
	} else {
		res.Body.Close()
	}
	ws := "ws" + strings.TrimPrefix(u.c.URL, "http") + "/api/v1/sandboxes/" + id + "/pty"
	dial := func(origin string) (*http.Response, error) {
		h := http.Header{"Origin": {origin}, "Cookie": {cookie.String()}}
		conn, res, err := websocket.Dial(u.ctx, ws, &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			conn.Close(websocket.StatusNormalClosure, "")
		}
		return res, err
	}
	if res, err := dial("http://evil.example"); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		u.t.Errorf("a cross-origin WebSocket to the terminal: %v %v, want 403", res, err)
	}
	if _, err := dial(u.c.URL); err != nil {
		u.t.Errorf("a same-origin WebSocket to the terminal with the cookie: %v", err)
	}
}

// stopStart stops the sandbox from its page (confirmed): the terminal says
// it ended; starting it again reconnects the terminal.
func (u *webUI) stopStart(id string) {
	u.step("stop from the sandbox's page",
		chromedp.Navigate(u.base+"/ui/#/sandboxes/"+id+"/terminal"),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-status[data-state=connected]`)),
		chromedp.Click(chromedp.CSS(`#action-stop`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-status[data-state=stopped]`)))
	if msg := u.eval(`document.querySelector('#terminal-detail').textContent`); !strings.Contains(msg, "terminal ended") {
		u.t.Errorf("after a stop the terminal says %q", msg)
	}
	u.step("start it again: the terminal reconnects",
		chromedp.WaitVisible(chromedp.CSS(`#action-start:enabled`)),
		chromedp.Click(chromedp.CSS(`#action-start`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-status[data-state=connected]`)))
}

// dark switches the browser to prefers-color-scheme: dark and checks the
// page follows (its background goes dark), with a screenshot and axe.
func (u *webUI) dark() {
	light := u.eval(`getComputedStyle(document.body).backgroundColor`)
	scheme := func(v string) {
		if _, err := chromedp.Call(u.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
			u.t.Fatalf("emulate %s: %v", v, err)
		}
	}
	scheme("dark")
	dark := u.eval(`getComputedStyle(document.body).backgroundColor`)
	if dark == light || dark != "rgb(11, 15, 20)" {
		u.t.Errorf("dark mode background %s (light %s)", dark, light)
	}
	u.axe("sandboxes (dark)")
	u.shot("sandboxes-dark")
	scheme("light")
}

// rawAs sends GET path with key.
func (u *webUI) rawAs(key, path string) (int, []byte, error) {
	req, _ := http.NewRequestWithContext(u.ctx, "GET", u.c.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := u.c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// axe runs axe-core on the page and fails on serious or critical findings.
func (u *webUI) axe(page string) {
	u.t.Helper()
	if u.eval(`typeof axe`) != "object" {
		if _, err := chromedp.Run(u.ctx, chromedp.Evaluate[any](axeSource+";0")); err != nil {
			u.t.Fatalf("inject axe-core: %v", err)
		}
	}
	found, err := chromedp.Run(u.ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))`, chromedp.EvalAwaitPromise))
	if err != nil {
		u.t.Fatalf("axe on %s: %v", page, err)
	}
	for _, f := range found {
		u.t.Errorf("axe-core on %s: %s", page, f)
	}
}

// shot saves a screenshot of the viewport as <name>.png.
func (u *webUI) shot(name string) {
	u.t.Helper()
	png, err := chromedp.Run(u.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		u.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(u.shots, name+".png"), png, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

func (u *webUI) eval(js string) string {
	u.t.Helper()
	v, err := chromedp.Run(u.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		u.t.Fatalf("evaluate %s: %v", js, err)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func (u *webUI) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	start := time.Now()
	step(u.t, u.ctx, what, actions...)
	if d := time.Since(start); d > 2*time.Second {
		u.t.Logf("%s took %s", what, d.Round(time.Millisecond))
	}
}

// typeLine types text as the browser's input method commits it (CDP's
// synthetic key events reach xterm.js twice), then Enter.
func (u *webUI) typeLine(text string) {
	u.t.Helper()
	u.step("focus the terminal", chromedp.Click(chromedp.CSS(`#terminal .xterm-screen`)))
	if _, err := chromedp.Call(u.ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
		u.t.Fatalf("type: %v", err)
	}
	u.step("press Enter", chromedp.KeyEvent("\r"))
}

func (u *webUI) waitLine(want string) {
	u.t.Helper()
	u.waitMatch(func(l string) bool { return l == want })
}

// waitMatch waits for a terminal line that ok accepts and returns it.
func (u *webUI) waitMatch(ok func(string) bool) string {
	u.t.Helper()
	l, _ := u.waitMatchFor(0, ok)
	return l
}

// waitMatchFor is waitMatch giving up after d (0: never) with false; the
// test's deadline fails it either way.
func (u *webUI) waitMatchFor(d time.Duration, ok func(string) bool) (string, bool) {
	u.t.Helper()
	var give <-chan time.Time
	if d > 0 {
		give = time.After(d)
	}
	for {
		text := terminalText(u.ctx)
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); ok(l) {
				return l, true
			}
		}
		select {
		case <-u.ctx.Done():
			u.t.Fatalf("the terminal never showed the line; it shows:\n%s", text)
		case <-give:
			return "", false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sttySize reports whether l reads like stty size's "ROWS COLS".
func sttySize(l string) bool {
	var r, c int
	n, _ := fmt.Sscanf(l, "%d %d", &r, &c)
	return n == 2 && r > 0 && c > 0 && fmt.Sprintf("%d %d", r, c) == l
}

// step runs actions, failing the test with the terminal's text on error.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		errs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('#errors .error-text, .field-error, .form-error')).map(e => e.textContent).join(' | ')`))
		t.Fatalf("%s: %v\npage errors: %s\nterminal:\n%s", what, err, errs, terminalText(ctx))
	}
}

// terminalText is the terminal's rows, one per line.
func terminalText(ctx context.Context) string {
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#terminal .xterm-rows > div')).map(d => d.textContent)`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return strings.Join(rows, "\n")
}

// discard makes an action that returns a value fit in a list of steps.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := a(ctx, t)
		return err
	})
}

package e2e_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The sandbox page's lifetime (TTL extension), Processes and Ports tabs,
// driven by TestWebUI.

type apiSandbox struct {
	ExpiresAt *time.Time `json:"expires_at"`
}

func (u *webUI) sandbox(id string) apiSandbox {
	u.t.Helper()
	var sb apiSandbox
	if err := u.c.call(u.ctx, "GET", "/api/v1/sandboxes/"+id, nil, &sb, http.StatusOK); err != nil {
		u.t.Fatal(err)
	}
	return sb
}

// lifetime extends the TTL from the overview ("Extend by 1 hour") and from
// the list's row ("+1h"); the API's new expiry is the old one plus an hour
// and the page shows it.
func (u *webUI) lifetime(id string) {
	u.step("open the overview", chromedp.Click(chromedp.CSS(`#tab-overview`)), chromedp.WaitVisible(chromedp.CSS(`#ttl-form`)))
	before := u.sandbox(id)
	t0 := time.Now()
	u.step("extend the TTL by an hour",
		chromedp.SetValue(chromedp.CSS(`#ttl-by`), "3600"),
		chromedp.Click(chromedp.CSS(`#ttl-extend`)),
		discard(chromedp.Poll[bool](`document.querySelector('#ttl-saved').textContent.startsWith('Extended')`)))
	after := u.sandbox(id)
	if after.ExpiresAt == nil {
		u.t.Fatal("after Extend the sandbox has no expiry")
	}
	want := t0.Add(time.Hour)
	if before.ExpiresAt != nil {
		want = before.ExpiresAt.Add(time.Hour)
	}
	// The page asks for the time left plus an hour, counted from the
	// server's now: the new expiry is at least the old one plus an hour
	// (less a second of rounding), and later only by the request's latency.
	if d := after.ExpiresAt.Sub(want); d < -2*time.Second || d > time.Minute {
		u.t.Errorf("Extend by 1 hour: expiry %v → %v (%+v off)", before.ExpiresAt, after.ExpiresAt, d)
	}
	shown := u.eval(`document.querySelector('#ov-expires').getAttribute('datetime')`)
	if st, err := time.Parse(time.RFC3339Nano, shown); err != nil || !st.Equal(*after.ExpiresAt) {
		u.t.Errorf("the page shows expiry %q, the API %v", shown, after.ExpiresAt)
	}
	u.eval(`scrollTo(0, 0)`)
	u.shot("sandbox")
	rowExpiry := func(t time.Time) string {
		return `Date.parse(document.querySelector('#sandboxes tr[data-name="ui-main"] td[title]').title) === ` + strconv.FormatInt(t.UnixMilli(), 10)
	}
	u.step("the list shows the new expiry (live), then +1h",
		chromedp.Click(chromedp.CSS(`#nav-sandboxes`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-main"] button.extend:enabled`)),
		discard(chromedp.Poll[bool](rowExpiry(*after.ExpiresAt))),
		chromedp.Click(chromedp.CSS(`#sandboxes tr[data-name="ui-main"] button.extend`)))
	for {
		now := u.sandbox(id)
		if now.ExpiresAt != nil && !now.ExpiresAt.Before(after.ExpiresAt.Add(time.Hour-2*time.Second)) {
			if d := now.ExpiresAt.Sub(after.ExpiresAt.Add(time.Hour)); d > time.Minute {
				u.t.Errorf("+1h in the list: %v → %v", after.ExpiresAt, now.ExpiresAt)
			}
			break
		}
		select {
		case <-u.ctx.Done():
			u.t.Fatalf("+1h in the list did not extend the TTL (expiry %v)", now.ExpiresAt)
		case <-time.After(100 * time.Millisecond):
		}
	}
	final := u.sandbox(id)
	u.step("the row shows the API's new expiry without a reload", discard(chromedp.Poll[bool](rowExpiry(*final.ExpiresAt))))
	u.step("back to the sandbox", chromedp.Click(chromedp.CSS(`#sandboxes tr[data-name="ui-main"] th a`)), chromedp.WaitVisible(chromedp.CSS(`#ttl-form`)))
}

// processes starts a process from the form (a directory and environment
// too), reads its stdout and stderr from the page, writes to its stdin,
// and kills it (confirmed).
func (u *webUI) processes(id string) {
	u.step("open the processes tab", chromedp.Click(chromedp.CSS(`#tab-processes`)), chromedp.WaitVisible(chromedp.CSS(`#proc-form`)))
	u.step("start a process from the form",
		chromedp.SetValue(chromedp.CSS(`#proc-shell`), `echo out-$((6*7)); echo err-line >&2; echo "cwd=$(pwd) env=$GREETING"; read line; echo "got-$line"; exec sleep 600`),
		chromedp.SetValue(chromedp.CSS(`#proc-cwd`), "/tmp"),
		chromedp.SetValue(chromedp.CSS(`#proc-env`), "GREETING=hi-there"),
		chromedp.Click(chromedp.CSS(`#proc-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#proc-out-status[data-state=following]`)),
		discard(chromedp.Poll[bool](`(t => t.includes('out-42\n') && t.includes('cwd=/tmp env=hi-there\n'))(document.querySelector('#proc-out-text').textContent)`)),
		discard(chromedp.Poll[bool](`(document.querySelector('#proc-out-text .stderr') || {}).textContent === 'err-line\n'`)))
	pid := u.eval(`document.querySelector('#proc-output').dataset.pid`)
	u.step("its row says running", chromedp.WaitVisible(chromedp.CSS(`#processes tr[data-pid="`+pid+`"][data-status=running]`)))
	u.step("write a line to its stdin",
		chromedp.SetValue(chromedp.CSS(`#proc-stdin`), "from-page"),
		chromedp.Click(chromedp.CSS(`#proc-stdin-form button[type=submit]`)),
		discard(chromedp.Poll[bool](`document.querySelector('#proc-out-text').textContent.includes('got-from-page\n')`)))
	u.axe("processes tab")
	u.shot("processes")
	u.scheme("dark")
	u.axe("processes tab (dark)")
	u.shot("processes-dark")
	u.scheme("light")
	u.step("kill it (confirmed)",
		chromedp.Click(chromedp.CSS(`#processes tr[data-pid="`+pid+`"] button.kill`)),
		chromedp.WaitVisible(chromedp.CSS(`#processes tr[data-pid="`+pid+`"][data-status=exited]`)),
		chromedp.WaitVisible(chromedp.CSS(`#proc-out-status[data-state=exited]`)))
	var p struct {
		Status, Signal string
	}
	if err := u.c.call(u.ctx, "GET", "/api/v1/sandboxes/"+id+"/processes/"+pid, nil, &p, http.StatusOK); err != nil || p.Status != "exited" || p.Signal != "KILL" {
		u.t.Errorf("the killed process: %+v (%v)", p, err)
	}
	if got := u.eval(`document.querySelector('#processes tr[data-pid="` + pid + `"] .proc-status').textContent`); got != "exited 137 (KILL)" {
		u.t.Errorf("the killed process's row says %q", got)
	}
}

// ports serves a page from the sandbox (busybox httpd, started as a
// process), makes a preview link from the Ports tab, fetches it without
// any credential, then closes the port from the page: the link stops
// working.
func (u *webUI) ports(id string) {
	var started struct{ PID int }
	if err := u.c.call(u.ctx, "POST", "/api/v1/sandboxes/"+id+"/processes",
		map[string]any{"shell": "mkdir -p /tmp/www && echo preview-ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"}, &started, http.StatusCreated); err != nil {
		u.t.Fatal(err)
	}
	u.step("open the ports tab", chromedp.Click(chromedp.CSS(`#tab-ports`)), chromedp.WaitVisible(chromedp.CSS(`#ports-empty`)))
	u.step("open a port from the form",
		chromedp.SetValue(chromedp.CSS(`#port-port`), "9000"),
		chromedp.SetValue(chromedp.CSS(`#port-label`), "api"),
		chromedp.Click(chromedp.CSS(`#port-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ports tr[data-port="9000"]`)))
	u.step("create a preview link",
		chromedp.SetValue(chromedp.CSS(`#preview-port`), "8080"),
		chromedp.SetValue(chromedp.CSS(`#preview-ttl`), "1h"),
		chromedp.Click(chromedp.CSS(`#preview-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview-url`)),
		chromedp.WaitVisible(chromedp.CSS(`#ports tr[data-port="8080"]`)))
	link := u.eval(`document.querySelector('#preview-url').href`)
	if got := u.eval(`document.querySelector('#preview-url').target + ' ' + document.querySelector('#preview-url').rel`); got != "_blank noopener noreferrer" {
		u.t.Errorf("the link opens with target/rel %q", got)
	}
	if !strings.HasPrefix(link, u.base+"/api/v1/sandboxes/"+id+"/ports/8080/?") {
		u.t.Errorf("the preview link is %q", link)
	}
	get := func() (int, string) {
		req, _ := http.NewRequestWithContext(u.ctx, "GET", link, nil)
		res, err := http.DefaultTransport.RoundTrip(req) // no cookie, no key, no redirects followed
		if err != nil {
			u.t.Fatalf("GET the preview link: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// httpd may not listen yet: the proxy answers 502 until it does.
	for {
		st, body := get()
		if st == http.StatusOK && body == "preview-ok\n" {
			break
		}
		if st != http.StatusBadGateway {
			u.t.Fatalf("GET the preview link: %d %s", st, body)
		}
		select {
		case <-u.ctx.Done():
			u.t.Fatalf("the preview link never reached httpd: %d %s", st, body)
		case <-time.After(200 * time.Millisecond):
		}
	}
	u.axe("ports tab")
	u.shot("ports")
	u.scheme("dark")
	u.axe("ports tab (dark)")
	u.shot("ports-dark")
	u.scheme("light")
	u.step("close the port (confirmed): the link is revoked",
		chromedp.Click(chromedp.CSS(`#ports tr[data-port="8080"] button.close-port`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview-expires[data-state=revoked]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#ports tr[data-port="8080"]`)))
	if st, body := get(); st == http.StatusOK {
		u.t.Errorf("the preview link still works after its port was closed: %d %s", st, body)
	}
	if err := u.c.call(u.ctx, "DELETE", "/api/v1/sandboxes/"+id+"/processes/"+strconv.Itoa(started.PID), nil, nil, http.StatusOK); err != nil {
		u.t.Errorf("kill httpd: %v", err)
	}
}

// declaredPorts shows a devcontainer sandbox's forwardPorts with their
// portsAttributes labels on the Ports tab, and opens one from there.
func (u *webUI) declaredPorts(id string) {
	u.step("the ports a devcontainer.json declares",
		chromedp.Navigate(u.base+"/ui/#/sandboxes/"+id+"/ports"),
		chromedp.WaitVisible(chromedp.CSS(`#ports-forward tr[data-forward="3000"]`)))
	row := func(f string) string {
		return u.eval(`Array.from(document.querySelectorAll('#ports-forward tr[data-forward="` + f + `"] > *')).slice(0, 3).map(c => c.textContent).join('|')`)
	}
	if got := row("3000"); got != "3000|app|not open" {
		u.t.Errorf("forwardPorts 3000 reads %q", got)
	}
	if got := row("db:5432"); !strings.HasPrefix(got, "db:5432|—|another container") {
		u.t.Errorf("forwardPorts db:5432 reads %q", got)
	}
	u.step("open it from there",
		chromedp.Click(chromedp.CSS(`#ports-forward tr[data-forward="3000"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#ports tr[data-port="3000"]`)))
	if got := row("3000"); got != "3000|app|open" {
		u.t.Errorf("forwardPorts 3000 after Open reads %q", got)
	}
	var ports struct {
		Items []struct {
			Port  int
			Label string
		}
	}
	if err := u.c.call(u.ctx, "GET", "/api/v1/sandboxes/"+id+"/ports", nil, &ports, http.StatusOK); err != nil || len(ports.Items) != 1 || ports.Items[0].Port != 3000 || ports.Items[0].Label != "app" {
		u.t.Errorf("the API lists ports %+v (%v)", ports.Items, err)
	}
}

// scheme emulates prefers-color-scheme v ("dark" or "light").
func (u *webUI) scheme(v string) {
	u.t.Helper()
	if _, err := chromedp.Call(u.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
		u.t.Fatalf("emulate %s: %v", v, err)
	}
}

package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// workspaces, driven by TestWebUI (signed in as ada): the Workspaces page
// creates a workspace, adds bob and changes his role; the switcher moves
// the UI into it, where the form creates a sandbox the list shows; back in
// the personal workspace that sandbox is absent. axe-core, light and dark.
func (u *webUI) workspaces() {
	start := time.Now()
	defer func() { u.t.Logf("workspaces in the UI took %s", time.Since(start).Round(time.Millisecond)) }()
	u.step("create a workspace from the page",
		chromedp.Click(chromedp.CSS(`#nav-workspaces`)),
		chromedp.WaitVisible(chromedp.CSS(`#workspaces tr[data-role="owner"]`)),
		chromedp.SendKeys(chromedp.CSS(`#workspace-name`), "ui-team"),
		chromedp.Click(chromedp.CSS(`#create-workspace button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#workspaces tr[data-name="ui-team"][data-role="owner"]`)),
		discard(chromedp.Poll[bool](`document.querySelector('#workspace').options.length === 2`))) // the switcher lists it
	u.step("add bob as a member, then make him a viewer",
		// Lists and cards here are drawn again after each change: click and
		// fill from scripts, so no step holds a node the page has replaced.
		discard(chromedp.Poll[bool](`(() => { const b = document.querySelector('#workspaces tr[data-name="ui-team"] button.members'); if (!b) return false; b.click(); return true; })()`)),
		chromedp.WaitVisible(chromedp.CSS(`#add-member`)),
		discard(chromedp.Poll[bool](`(() => { const f = document.querySelector('#add-member'); if (!f) return false; f.querySelector('#member-email').value = 'bob@example.com'; f.querySelector('#member-role').value = 'member'; f.requestSubmit(); return true; })()`)),
		chromedp.WaitVisible(chromedp.CSS(`#members-table tr[data-email="bob@example.com"] select.member-role`)))
	u.eval(`(() => { const s = document.querySelector('#members-table tr[data-email="bob@example.com"] select.member-role'); s.value = 'viewer'; s.dispatchEvent(new Event('change')); return 1; })()`)
	u.step("the role is changed", discard(chromedp.Poll[bool](`(() => { const s = document.querySelector('#members-table tr[data-email="bob@example.com"] select.member-role'); return !!s && s.value === 'viewer' && !document.querySelector('#errors .error'); })()`)))
	u.step("remove bob (confirmed), then add him back as a viewer",
		// Clicked from a script too (the click's confirm() comes after it
		// returns, and the dialog listener accepts it).
		discard(chromedp.Poll[bool](`(() => { const b = document.querySelector('#members-table tr[data-email="bob@example.com"] button.remove'); if (!b) return false; setTimeout(() => b.click(), 0); return true; })()`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#members-table tr[data-email="bob@example.com"]`)),
		// The members card is drawn again after every change (and when the
		// workspace list reloads), form and buttons included: fill and
		// submit the form in one script, so no step holds a node the page
		// has replaced.
		discard(chromedp.Poll[bool](`(() => { const f = document.querySelector('#add-member'); if (!f) return false; f.querySelector('#member-email').value = 'bob@example.com'; f.querySelector('#member-role').value = 'viewer'; f.requestSubmit(); return true; })()`)),
		chromedp.WaitVisible(chromedp.CSS(`#members-table tr[data-email="bob@example.com"] select.member-role`)))
	var ms struct {
		Items []struct{ Email, Role string }
	}
	if err := u.c.call(u.ctx, "GET", "/api/v1/workspaces/ui-team/members", nil, &ms, http.StatusOK); err != nil {
		u.t.Fatal(err)
	}
	roles := map[string]string{}
	for _, m := range ms.Items {
		roles[m.Email] = m.Role
	}
	if roles["bob@example.com"] != "viewer" || roles["ada@example.com"] != "owner" {
		u.t.Errorf("ui-team's members from the API: %v; want ada owner, bob viewer", roles)
	}
	u.axe("workspaces")
	u.shot("workspaces")
	u.scheme("dark")
	u.axe("workspaces (dark)")
	u.scheme("light")

	u.step("switch to ui-team",
		chromedp.Click(chromedp.CSS(`#workspaces tr[data-name="ui-team"] button.use`)),
		chromedp.WaitVisible(chromedp.CSS(`#workspaces tr[data-name="ui-team"] .tag.current`)),
		discard(chromedp.Poll[bool](`document.querySelector('#workspace').selectedOptions[0].textContent.startsWith('ui-team')`)))
	u.step("create a sandbox there from the form",
		chromedp.Click(chromedp.CSS(`#nav-sandboxes`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state=live]`)),
		chromedp.Click(chromedp.CSS(`#new-sandbox`)),
		chromedp.WaitVisible(chromedp.CSS(`#create`)),
		chromedp.SetValue(chromedp.CSS(`#f-name`), "ui-ws-box"),
		chromedp.SetValue(chromedp.CSS(`#f-image`), "codepod/tiny:latest"),
		chromedp.SetValue(chromedp.CSS(`#f-memory`), "64m"),
		chromedp.Click(chromedp.CSS(`#create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sb-name`)),
		chromedp.Click(chromedp.CSS(`#nav-sandboxes`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-ws-box"]`)))
	if u.eval(`String(!!document.querySelector('#sandboxes tr[data-name="ui-main"]'))`) != "false" {
		u.t.Error("ui-team's list shows ada's personal sandbox ui-main")
	}
	// The API agrees: the sandbox is in ui-team, not in ada's personal workspace.
	st, body, err := u.inWorkspace("ui-team", "GET", "/api/v1/sandboxes/ui-ws-box")
	if err != nil || st != http.StatusOK || !strings.Contains(string(body), `"ui-ws-box"`) {
		u.t.Errorf("GET ui-ws-box in ui-team: %d %s %v", st, body, err)
	}
	u.t.Cleanup(func() { u.inWorkspace("ui-team", "DELETE", "/api/v1/sandboxes/ui-ws-box") })

	u.eval(`(() => { const s = document.querySelector('#workspace'); s.value = [...s.options].find((o) => o.textContent.includes('(personal)')).value; s.dispatchEvent(new Event('change')); return 1; })()`)
	u.step("back in the personal workspace",
		discard(chromedp.Poll[bool](`document.querySelector('#workspace').selectedOptions[0].textContent.includes('(personal)')`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state=live]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-main"]`)))
	if u.eval(`String(!!document.querySelector('#sandboxes tr[data-name="ui-ws-box"]'))`) != "false" {
		u.t.Error("the personal workspace's list shows ui-team's sandbox ui-ws-box")
	}
}

// inWorkspace sends method path as the admin, acting in workspace ws.
func (u *webUI) inWorkspace(ws, method, path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, u.c.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+u.c.AdminKey)
	req.Header.Set("Codepod-Workspace", ws)
	res, err := u.c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// viewer, after secondUser (signed in as bob, a viewer of ui-team): the
// switcher moves him into ui-team, whose sandbox he sees, with create,
// start/stop/delete and the terminal hidden or disabled.
func (u *webUI) viewer() {
	start := time.Now()
	defer func() { u.t.Logf("the viewer's UI took %s", time.Since(start).Round(time.Millisecond)) }()
	u.step("bob's switcher lists ui-team as viewer",
		chromedp.Navigate(u.base+"/ui/#/sandboxes"),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state=live]`)),
		discard(chromedp.Poll[bool](`[...document.querySelector('#workspace').options].some((o) => o.textContent === 'ui-team · viewer')`)))
	u.eval(`(() => { const s = document.querySelector('#workspace'); s.value = [...s.options].find((o) => o.textContent.startsWith('ui-team')).value; s.dispatchEvent(new Event('change')); return 1; })()`)
	u.step("ui-team's sandbox, read only",
		discard(chromedp.Poll[bool](`document.body.dataset.role === 'viewer'`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-ws-box"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#viewer-note`)))
	if got := u.eval(`String(!!document.querySelector('#new-sandbox')) + ' ' + String([...document.querySelectorAll('#sandboxes tr[data-name="ui-ws-box"] button')].every((b) => b.disabled))`); got != "false true" {
		u.t.Errorf("a viewer's list: new-sandbox shown, all row buttons disabled = %q; want \"false true\"", got)
	}
	u.step("no terminal for a viewer",
		chromedp.Click(chromedp.CSS(`#sandboxes tr[data-name="ui-ws-box"] th a`)),
		chromedp.WaitVisible(chromedp.CSS(`#sb-name`)),
		chromedp.Click(chromedp.CSS(`#tab-terminal`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-viewer`)))
}

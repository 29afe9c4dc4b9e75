package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/codepod-dev/codepod/internal/testenv"
)

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
		chromedp.WindowSize(1200, 900),
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

// TestWebUI signs in to the web UI in a real browser, finds a running
// sandbox, runs a command in its terminal and deletes it.
func TestWebUI(t *testing.T) {
	c := sharedCluster(t)
	start := time.Now()
	bctx := newBrowser(t)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", map[string]any{"name": "ui-box", "image": "codepod/tiny:latest", "memory": "64m"}, &sb, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.raw(context.Background(), "DELETE", "/api/v1/sandboxes/"+sb.ID, nil, "") })

	tctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	defer tcancel()
	row := `#sandboxes tr[data-name="ui-box"]`
	step(t, tctx, "sign in",
		chromedp.Navigate(c.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#key`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), c.AdminKey),
		chromedp.Click(chromedp.CSS(`#signin button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#signout`)),
	)
	if loc, err := chromedp.Run(tctx, chromedp.Location()); err != nil || loc != c.URL+"/ui/" {
		t.Errorf("/ led to %q (%v), want %s/ui/", loc, err, c.URL)
	}
	step(t, tctx, "see the sandbox running",
		chromedp.WaitVisible(chromedp.CSS(row+`[data-status="running"] button.open:enabled`)))
	step(t, tctx, "open its terminal",
		chromedp.Click(chromedp.CSS(row+` button.open`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal .xterm-rows`)),
		discard(chromedp.Poll[bool](`document.querySelector('#terminal-status').textContent === 'connected'`)),
		chromedp.Click(chromedp.CSS(`#terminal .xterm-screen`)),
	)
	// Text as the browser's input method commits it (CDP's synthetic key
	// events reach xterm.js twice, as keypress and as input), then Enter.
	if _, err := chromedp.Call(tctx, input.InsertText, input.InsertTextParams{Text: "echo $((6*7))"}); err != nil {
		t.Fatalf("type: %v", err)
	}
	step(t, tctx, "press Enter", chromedp.KeyEvent("\r"))
	waitTerminalLine(t, tctx, "42")
	step(t, tctx, "delete it",
		chromedp.Click(chromedp.CSS(row+` button.delete`)),
		chromedp.WaitNotPresent(chromedp.CSS(row)),
	)
	if msg, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.querySelector('#error-text').textContent`)); err != nil || msg != "" {
		t.Errorf("the page shows an error: %q (%v)", msg, err)
	}
	checkErrorBanner(t, tctx)
	if status, _, _ := c.raw(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, ""); status != http.StatusNotFound {
		t.Errorf("after the UI deleted it, GET answers %d, want 404", status)
	}
	t.Logf("web UI test took %s", time.Since(start).Round(time.Millisecond))
}

// checkErrorBanner makes the UI fail a create (memory 12zb), and checks
// that the error banner survives two list refreshes (it used to vanish
// within a second), goes when dismissed, and goes when the action is
// retried.
func checkErrorBanner(t *testing.T, ctx context.Context) {
	t.Helper()
	failCreate := []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.CSS(`#create input[name=name]`), "ui-bad"),
		chromedp.SetValue(chromedp.CSS(`#create input[name=memory]`), "12zb"),
		chromedp.Click(chromedp.CSS(`#create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#error`)),
	}
	step(t, ctx, "fail a create", failCreate...)
	msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#error-text').textContent`))
	if err != nil || !strings.Contains(msg, "memory") {
		t.Fatalf("the banner says %q (%v); want the server's message about memory", msg, err)
	}
	refreshes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Number(document.body.dataset.refreshes)`))
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "wait for two list refreshes",
		discard(chromedp.Poll[bool](fmt.Sprintf(`Number(document.body.dataset.refreshes) >= %d`, refreshes+2))))
	if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector('#error').hidden && document.querySelector('#error-text').textContent !== ''`)); err != nil || !shown {
		t.Fatalf("the error banner did not survive the list refresh (%v)", err)
	}
	step(t, ctx, "dismiss it",
		chromedp.Click(chromedp.CSS(`#error-dismiss`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#error`)))
	step(t, ctx, "fail again", failCreate...)
	step(t, ctx, "retry with a good memory clears it",
		chromedp.SetValue(chromedp.CSS(`#create input[name=memory]`), "64m"),
		chromedp.SetValue(chromedp.CSS(`#create input[name=image]`), "codepod/tiny:latest"),
		chromedp.Click(chromedp.CSS(`#create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sandboxes tr[data-name="ui-bad"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#error`)),
		chromedp.Click(chromedp.CSS(`#sandboxes tr[data-name="ui-bad"] button.delete`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#sandboxes tr[data-name="ui-bad"]`)),
	)
}

// step runs actions, failing the test with the terminal's text on error.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\nterminal:\n%s", what, err, terminalText(ctx))
	}
}

// waitTerminalLine waits until a line of the terminal, as the DOM shows it,
// is want.
func waitTerminalLine(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	for {
		text := terminalText(ctx)
		for _, l := range strings.Split(text, "\n") {
			if strings.TrimSpace(l) == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the terminal never showed a line %q; it shows:\n%s", want, text)
		case <-time.After(100 * time.Millisecond):
		}
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

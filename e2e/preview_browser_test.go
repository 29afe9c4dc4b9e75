package e2e_test

import (
	"bytes"
	"context"
	_ "embed"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

//go:embed testdata/wsecho.py
var wsEchoPy []byte

// waitServing waits until the proxy reaches a server on port (502 while
// nothing listens yet).
func waitServing(ctx context.Context, t *testing.T, c *cluster, sb *sandbox, port string) {
	t.Helper()
	for {
		status, body, err := c.raw(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/ports/"+port+"/", nil, "")
		if err == nil && status == http.StatusOK {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("port %s never answered through the proxy: %d %s %v", port, status, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPreviewBrowser: python3 -m http.server reached through the proxy
// with an API key, and headless Chromium following a signed link to a page
// whose WebSocket echo goes through the preview path.
func TestPreviewBrowser(t *testing.T) {
	c := sharedCluster(t)
	sb := baseSandbox(t, c, "e2e-preview-web")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q := "?path=" + url.QueryEscape("/srv/wsecho.py")
	if status, raw, err := c.raw(ctx, "PUT", "/api/v1/sandboxes/"+sb.ID+"/files"+q, bytes.NewReader(wsEchoPy), "application/octet-stream"); err != nil || status != http.StatusOK {
		t.Fatalf("upload: %d %s %v", status, raw, err)
	}
	res := c.exec(ctx, t, sb.ID, map[string]any{"shell": "echo served-by-python > /srv/hello.txt; " +
		"setsid python3 -m http.server 8080 --directory /srv </dev/null >/tmp/http.log 2>&1 & " +
		"setsid python3 /srv/wsecho.py 8000 </dev/null >/tmp/ws.log 2>&1 &"})
	if res.ExitCode != 0 {
		t.Fatalf("start servers: %+v", res)
	}
	for _, p := range []int{8000, 8080} {
		if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/ports", map[string]any{"port": p}, nil, http.StatusOK); err != nil {
			t.Fatal(err)
		}
	}
	waitServing(ctx, t, c, sb, "8080")
	status, body, err := c.raw(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/ports/8080/hello.txt", nil, "")
	if err != nil || status != http.StatusOK || string(body) != "served-by-python\n" {
		t.Fatalf("python3 -m http.server through the proxy: %d %q %v", status, body, err)
	}
	waitServing(ctx, t, c, sb, "8000")

	var link previewLink
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.Name+"/preview-urls", map[string]any{"port": 8000}, &link, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	bctx := newBrowser(t)
	tctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	defer tcancel()
	step(t, tctx, "open the preview link",
		chromedp.Navigate(link.URL),
		discard(chromedp.Poll[bool](`document.getElementById('out') !== null && document.getElementById('out').textContent !== 'waiting'`)))
	text, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.getElementById('out').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(tctx, chromedp.Location())
	if text != "got: echo through the preview" {
		t.Fatalf("the page shows %q; want the WebSocket's echo", text)
	}
	if strings.Contains(loc, "codepod_preview_token") {
		t.Errorf("the token stayed in the address bar: %s", loc)
	}
}

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// previewCGI is a busybox httpd CGI that shows what the app receives and
// tries to set a cookie for the whole server.
const previewCGI = `#!/bin/sh
echo "Content-Type: text/plain"
echo "Set-Cookie: app=1; Path=/"
echo "Set-Cookie: codepod_preview=stolen; Path=/"
echo ""
echo "uri=$REQUEST_URI"
env | grep -E '^HTTP_(X_FORWARDED|AUTHORIZATION|COOKIE)' | sort
`

type previewLink struct {
	URL       string    `json:"url"`
	Path      string    `json:"path"`
	Token     string    `json:"token"`
	Port      int       `json:"port"`
	ExpiresAt time.Time `json:"expires_at"`
}

// startHTTPD serves /www on port inside sb with busybox httpd (it
// daemonizes, so the exec returns while it keeps running).
func startHTTPD(ctx context.Context, t *testing.T, c *cluster, sb *sandbox, port int) {
	t.Helper()
	script := fmt.Sprintf(`mkdir -p /www/cgi-bin /www/sub && echo hello-preview > /www/index.html && echo in-sub > /www/sub/index.html &&
cat > /www/cgi-bin/env && chmod +x /www/cgi-bin/env && httpd -p %d -h /www`, port)
	res := c.exec(ctx, t, sb.ID, map[string]any{"shell": script, "stdin": previewCGI})
	if res.ExitCode != 0 {
		t.Fatalf("start httpd: %+v", res)
	}
}

// get sends a GET with an optional API key through client hc.
func previewGet(ctx context.Context, t *testing.T, hc *http.Client, u, key string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPreviewProxy(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-preview")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	startHTTPD(ctx, t, c, sb, 8000)
	base := c.URL + "/api/v1/sandboxes/" + sb.ID + "/ports/8000"
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	t.Run("closed port is refused", func(t *testing.T) {
		resp, body := previewGet(ctx, t, noRedirect, base+"/", c.AdminKey)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "is not open") {
			t.Fatalf("before opening: %d %s", resp.StatusCode, body)
		}
	})
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.Name+"/ports", map[string]any{"port": 8000, "label": "web"}, nil, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	t.Run("listed and shown in get", func(t *testing.T) {
		var got struct {
			Ports []struct {
				Port  int    `json:"port"`
				Label string `json:"label"`
			} `json:"ports"`
		}
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &got, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if len(got.Ports) != 1 || got.Ports[0].Port != 8000 || got.Ports[0].Label != "web" {
			t.Fatalf("get: ports %+v", got.Ports)
		}
	})
	t.Run("API key", func(t *testing.T) {
		resp, body := previewGet(ctx, t, noRedirect, base+"/", c.AdminKey)
		if resp.StatusCode != http.StatusOK || body != "hello-preview\n" {
			t.Fatalf("GET /: %d %q", resp.StatusCode, body)
		}
		resp, body = previewGet(ctx, t, noRedirect, base+"/", "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "codepod sandbox url") {
			t.Fatalf("without a credential: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("prefix, headers and cookies", func(t *testing.T) {
		resp, body := previewGet(ctx, t, noRedirect, base+"/cgi-bin/env?a=1", c.AdminKey)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("cgi: %d %s", resp.StatusCode, body)
		}
		for _, want := range []string{"uri=/cgi-bin/env?a=1", "HTTP_X_FORWARDED_PREFIX=/api/v1/sandboxes/" + sb.ID + "/ports/8000"} {
			if !strings.Contains(body, want) {
				t.Errorf("the app got:\n%s\nwant %q", body, want)
			}
		}
		if strings.Contains(body, "AUTHORIZATION") || strings.Contains(body, c.AdminKey) {
			t.Errorf("the app saw the API key:\n%s", body)
		}
		sc := resp.Header.Values("Set-Cookie")
		if len(sc) != 1 || !strings.Contains(sc[0], "Path=/api/v1/sandboxes/"+sb.ID+"/ports/8000/") {
			t.Errorf("Set-Cookie reaching the browser: %q; want only app=1 confined to the port's path", sc)
		}
	})
	t.Run("redirect rewritten under the prefix", func(t *testing.T) {
		resp, _ := previewGet(ctx, t, noRedirect, base+"/sub", c.AdminKey)
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "/api/v1/sandboxes/"+sb.ID+"/ports/8000/sub/") {
			t.Fatalf("GET /sub: %d Location %q; want a redirect into the prefix", resp.StatusCode, loc)
		}
	})
	var link previewLink
	t.Run("signed link", func(t *testing.T) { link = testPreviewLink(ctx, t, c, sb, base) })
	t.Run("another user's sandbox is not found", func(t *testing.T) {
		key := otherUserKey(ctx, t, c, "preview-other@example.com")
		resp, body := previewGet(ctx, t, noRedirect, base+"/", key)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("another user's key: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		resp, body := previewGet(ctx, t, noRedirect, c.URL+"/api/v1/sandboxes/"+sb.ID+"/ports/8001/", c.AdminKey)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "8001") {
			t.Fatalf("port without a server: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("closed again", func(t *testing.T) {
		if err := c.call(ctx, "DELETE", "/api/v1/sandboxes/"+sb.ID+"/ports/8000", nil, nil, http.StatusNoContent); err != nil {
			t.Fatal(err)
		}
		resp, body := previewGet(ctx, t, noRedirect, base+"/", c.AdminKey)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("after close: %d %s", resp.StatusCode, body)
		}
		if link.URL == "" {
			return
		}
		if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/ports", map[string]any{"port": 8000}, nil, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		resp, body = previewGet(ctx, t, noRedirect, link.URL, "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a link minted before the port was closed and opened again: %d %s", resp.StatusCode, body)
		}
	})
}

// testPreviewLink: a signed link works without a key, moves into a cookie
// for the port's path, and is refused when forged, expired, for another
// port, or after the port was closed.
func testPreviewLink(ctx context.Context, t *testing.T, c *cluster, sb *sandbox, base string) previewLink {
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/ports", map[string]any{"port": 8001}, nil, http.StatusOK); err != nil {
		t.Fatal(err) // open, so that its refusal is the link's
	}
	var link previewLink
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/preview-urls", map[string]any{"port": 8000, "ttl": "10m"}, &link, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, base+"/?codepod_preview_token=") {
		t.Fatalf("link %q", link.URL)
	}
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, body := previewGet(ctx, t, plain, link.URL, "")
	if resp.StatusCode != http.StatusOK || body != "hello-preview\n" {
		t.Fatalf("a program following the link: %d %q", resp.StatusCode, body)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: navigating{}}
	resp, body = previewGet(ctx, t, browser, link.URL, "")
	if resp.StatusCode != http.StatusOK || body != "hello-preview\n" || resp.Request.URL.RawQuery != "" {
		t.Fatalf("following the link: %d %q at %s", resp.StatusCode, body, resp.Request.URL)
	}
	resp, body = previewGet(ctx, t, browser, base+"/sub/", "")
	if resp.StatusCode != http.StatusOK || body != "in-sub\n" {
		t.Fatalf("a later request with the cookie: %d %q", resp.StatusCode, body)
	}
	u, _ := url.Parse(c.URL + "/api/v1/sandboxes")
	if cs := jar.Cookies(u); len(cs) != 0 {
		t.Errorf("cookies sent to the API's paths: %v", cs)
	}

	exp, mac, _ := strings.Cut(link.Token, ".")
	forged := []struct{ name, url string }{
		{"forged", base + "/?codepod_preview_token=" + exp + "." + strings.Repeat("A", len(mac))},
		{"expiry moved", base + "/?codepod_preview_token=" + fmt.Sprint(time.Now().Add(time.Hour).Unix()) + "." + mac},
		{"other port", c.URL + "/api/v1/sandboxes/" + sb.ID + "/ports/8001/?codepod_preview_token=" + url.QueryEscape(link.Token)},
	}
	for _, f := range forged {
		resp, body := previewGet(ctx, t, plain, f.url, "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
			t.Errorf("%s link: %d %s", f.name, resp.StatusCode, body)
		}
	}
	var short previewLink
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/preview-urls", map[string]any{"port": 8000, "ttl": "1s"}, &short, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, body := previewGet(ctx, t, plain, short.URL, "")
		if resp.StatusCode == http.StatusUnauthorized && strings.Contains(body, "expired") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a 1s link after 10s: %d %s", resp.StatusCode, body)
		}
	}
	return link
}

// otherUserKey creates a user and returns an API key of theirs.
func otherUserKey(ctx context.Context, t *testing.T, c *cluster, email string) string {
	t.Helper()
	c.call(ctx, "POST", "/api/v1/users", map[string]any{"email": email, "password": "password-123"}, nil, http.StatusCreated)
	req, _ := http.NewRequestWithContext(ctx, "POST", c.URL+"/api/v1/auth/login", strings.NewReader(`{"email":"`+email+`","password":"password-123"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&out)
	if out.Token == "" {
		t.Fatalf("login of %s: %d", email, resp.StatusCode)
	}
	return out.Token
}

// navigating marks requests the way a browser marks a navigation.
type navigating struct{}

func (navigating) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	return http.DefaultTransport.RoundTrip(r)
}

package codepod_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

// TestPreviewAndLifetime: a server in the sandbox reached through a
// preview URL from a plain HTTP client (no API key), ports listed and
// closed, the TTL and idle timeout changed.
func TestPreviewAndLifetime(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()
	sb, err := c.CreateSandbox(ctx, codepod.CreateOptions{Name: "sdk-go-preview", Image: tinyImage, Memory: "64m", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	res, err := sb.Exec(ctx, []string{"sh", "-c", "mkdir -p /www && echo from-go-sdk > /www/index.html && httpd -p 8000 -h /www"}, nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("start httpd: %+v %v", res, err)
	}
	link, err := sb.GetPreviewURL(ctx, 8000, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(link.Url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "from-go-sdk\n" {
		t.Fatalf("GET the preview URL: %d %q", resp.StatusCode, body)
	}
	ports, err := sb.Ports(ctx)
	if err != nil || len(ports) != 1 || ports[0].Port != 8000 {
		t.Fatalf("Ports = %+v, %v", ports, err)
	}
	if err := sb.ClosePort(ctx, 8000); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(link.Url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the link after ClosePort: %s; want 404", resp.Status)
	}

	if err := sb.SetTimeout(ctx, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if exp := sb.Info().ExpiresAt; exp == nil || time.Until(*exp) < 119*time.Minute {
		t.Errorf("after SetTimeout(2h) expires_at = %v", exp)
	}
	if err := sb.SetIdleTimeout(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if info := sb.Info(); info.IdleTimeoutSeconds != 600 || info.IdleAt == nil {
		t.Errorf("after SetIdleTimeout(10m): %d %v", info.IdleTimeoutSeconds, info.IdleAt)
	}
}

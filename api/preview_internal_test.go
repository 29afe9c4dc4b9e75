package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

func TestPreviewToken(t *testing.T) {
	p := &codepod.SandboxPort{SandboxID: "sb_one", Port: 8000, Secret: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tok := mintPreviewToken(p, "usr_alice", now.Add(time.Hour))
	if err := checkPreviewToken(p, "usr_alice", tok, now); err != nil {
		t.Fatalf("a fresh token: %v", err)
	}
	other := *p
	other.Port = 8001
	reopened := *p
	reopened.Secret = []byte("another secret, from a new opening")
	exp, mac, _ := strings.Cut(tok, ".")
	for _, c := range []struct {
		name, tok, owner, want string
		port                   *codepod.SandboxPort
		at                     time.Time
	}{
		{"expired", tok, "usr_alice", "expired", p, now.Add(time.Hour)},
		{"other owner", tok, "usr_bob", "not valid", p, now},
		{"other port", tok, "usr_alice", "not valid", &other, now},
		{"port reopened", tok, "usr_alice", "not valid", &reopened, now},
		{"expiry moved", "9999999999." + mac, "usr_alice", "not valid", p, now},
		{"mac changed", exp + "." + strings.Repeat("A", len(mac)), "usr_alice", "not valid", p, now},
		{"garbage", "nonsense", "usr_alice", "not valid", p, now},
	} {
		err := checkPreviewToken(c.port, c.owner, c.tok, c.at)
		if codepod.ErrorCode(err) != codepod.EUNAUTHORIZED || !strings.Contains(codepod.ErrorMessage(err), c.want) {
			t.Errorf("%s: %v; want EUNAUTHORIZED saying %q", c.name, err, c.want)
		}
	}
}

func TestRewriteLocation(t *testing.T) {
	const prefix = "/api/v1/sandboxes/sb_x/ports/8000"
	up := &http.Request{Header: http.Header{"X-Forwarded-Host": {"codepod.example.com"}}}
	for _, c := range []struct{ in, want string }{
		{"/login", prefix + "/login"},
		{"/", prefix + "/"},
		{"/a?b=c#d", prefix + "/a?b=c#d"},
		{prefix + "/already", prefix + "/already"},
		{"http://127.0.0.1:8000/x", prefix + "/x"},
		{"http://localhost:8000/x", prefix + "/x"},
		{"https://codepod.example.com/y", prefix + "/y"},
		{"relative/path", "relative/path"},
		{"https://elsewhere.example.org/z", "https://elsewhere.example.org/z"},
		{"//elsewhere.example.org/z", "//elsewhere.example.org/z"},
	} {
		if got := rewriteLocation(c.in, prefix, up); got != c.want {
			t.Errorf("Location %q → %q; want %q", c.in, got, c.want)
		}
	}
}

func TestPreviewCookiesConfined(t *testing.T) {
	const prefix = "/api/v1/sandboxes/sb_x/ports/8000"
	res := &http.Response{Header: http.Header{"Set-Cookie": {
		"a=1; Path=/; Domain=example.com", "b=2", "c=3; Path=/app", "codepod_preview=forged; Path=/",
	}}, Request: &http.Request{Header: http.Header{"X-Forwarded-Prefix": {prefix}}}}
	modifyPreviewResponse(res)
	got := res.Header.Values("Set-Cookie")
	want := []string{"a=1; Path=" + prefix + "/", "b=2; Path=" + prefix + "/", "c=3; Path=" + prefix + "/app"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Set-Cookie = %q\nwant %q", got, want)
	}
}

func TestPreviewOriginServesOnlyPreviews(t *testing.T) {
	s := &Server{cfg: Config{PreviewBaseURL: "https://preview.example.com"}}
	h := s.previewOriginOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, c := range []struct {
		host, path string
		want       int
	}{
		{"preview.example.com", "/api/v1/me", http.StatusNotFound},
		{"preview.example.com", "/ui/", http.StatusNotFound},
		{"preview.example.com", "/api/v1/sandboxes/sb_x/ports/8000/", http.StatusTeapot},
		{"codepod.example.com", "/api/v1/me", http.StatusTeapot},
	} {
		r, _ := http.NewRequest("GET", "http://"+c.host+c.path, nil)
		w := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(w, r)
		if w.status != c.want {
			t.Errorf("%s%s: %d, want %d", c.host, c.path, w.status, c.want)
		}
	}
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(s int)           { r.status = s }

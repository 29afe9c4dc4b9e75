package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// binaryServer serves body as the runner binary, publishing sum and
// version, to the credential "cred" only.
func binaryServer(t *testing.T, body, sum, version string) *httptest.Server {
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer cred" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/v1/runner/binary/sha256", auth(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"version": version, "sha256": sum, "size": len(body)})
	}))
	mux.HandleFunc("GET /api/v1/runner/binary", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(body))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestSelfUpdateChecksTheBinary(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh for the stand-in binary")
	}
	newBin := "#!/bin/sh\necho 'codepod version v2'\n"
	h := sha256.Sum256([]byte(newBin))
	good := hex.EncodeToString(h[:])
	for _, tc := range []struct {
		name, sum, version, wantErr string
	}{
		{"installs", good, "v2", ""},
		{"wrong sha256", strings.Repeat("0", 64), "v2", "SHA-256"},
		{"no sha256", "", "v2", "no usable SHA-256"},
		{"wrong version", good, "v3", "does not report version v3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, "codepod")
			if err := os.WriteFile(exe, []byte("old"), 0o755); err != nil {
				t.Fatal(err)
			}
			srv := binaryServer(t, newBin, tc.sum, tc.version)
			r := &Runner{cfg: Config{Executable: exe, AutoUpdate: true, Version: "v1"},
				api: &apiClient{base: srv.URL, hc: srv.Client()}, state: &State{Credential: "cred"}}
			v, err := r.selfUpdate(context.Background())
			got, _ := os.ReadFile(exe)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("selfUpdate = %v, want an error about %q", err, tc.wantErr)
				}
				if string(got) != "old" {
					t.Fatalf("a refused update changed the binary to %q", got)
				}
			} else {
				if err != nil || v != "v2" {
					t.Fatalf("selfUpdate = %q, %v", v, err)
				}
				if fi, _ := os.Stat(exe); string(got) != newBin || fi.Mode().Perm()&0o111 == 0 {
					t.Fatalf("installed binary %q mode %v", got, fi.Mode())
				}
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".codepod.update-*")); len(left) != 0 {
				t.Fatalf("temp files left behind: %v", left)
			}
		})
	}
	// A credential the server rejects is an error, nothing is written.
	dir := t.TempDir()
	exe := filepath.Join(dir, "codepod")
	os.WriteFile(exe, []byte("old"), 0o755)
	srv := binaryServer(t, newBin, good, "v2")
	r := &Runner{cfg: Config{Executable: exe, AutoUpdate: true, Version: "v1"},
		api: &apiClient{base: srv.URL, hc: srv.Client()}, state: &State{Credential: "wrong"}}
	if _, err := r.selfUpdate(context.Background()); err == nil || !unauthorized(err) {
		t.Fatalf("selfUpdate with a rejected credential = %v", err)
	}
}

func TestWantsUpdate(t *testing.T) {
	r := &Runner{cfg: Config{AutoUpdate: true, Version: "v1"}}
	if r.wantsUpdate("") || r.wantsUpdate("v1") {
		t.Fatal("no update without a server version or with the same one")
	}
	if !r.wantsUpdate("v2") {
		t.Fatal("no update for another server version")
	}
	if r.wantsUpdate("v2") {
		t.Fatal("a second attempt right after the first one")
	}
	if (&Runner{cfg: Config{Version: "v1"}}).wantsUpdate("v2") {
		t.Fatal("an update without AutoUpdate")
	}
}

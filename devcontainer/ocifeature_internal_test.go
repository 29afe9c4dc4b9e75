package devcontainer

import "testing"

func TestIsOCIFeature(t *testing.T) {
	for ref, want := range map[string]bool{
		"ghcr.io/devcontainers/features/go:1": true, "localhost:5000/f/hello": true, "localhost/f/x:1": true,
		"./hello": false, "../x": false, "go": false, "devcontainers/features/go": false,
		"https://example.com/f.tgz": false,
	} {
		if IsOCIFeature(ref) != want {
			t.Errorf("IsOCIFeature(%q) = %v", ref, !want)
		}
	}
	if got := featureRepo("ghcr.io/devcontainers/features/go:1"); got != "ghcr.io/devcontainers/features/go" {
		t.Errorf("featureRepo: %s", got)
	}
	if got := featureRepo("localhost:5000/f/go@sha256:abc"); got != "localhost:5000/f/go" {
		t.Errorf("featureRepo: %s", got)
	}
}

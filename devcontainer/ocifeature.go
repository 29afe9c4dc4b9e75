package devcontainer

import (
	"context"
	"strings"
)

// FeatureSource fetches OCI features ("ghcr.io/devcontainers/features/go:1")
// for PlanBuildContext; devcontainer/oci.FeatureFetcher is the one that
// reaches registries. This package does no network I/O itself.
type FeatureSource interface {
	// Fetch resolves ref (pinned to the lockfile's entry when pin is not
	// nil) and returns the feature's folder on this machine.
	Fetch(ctx context.Context, ref string, pin *LockedFeature) (*FetchedFeature, error)
}

// FetchedFeature is a fetched OCI feature: its folder and what pins it.
type FetchedFeature struct {
	Folder    string
	Resolved  string // registry/repository@sha256:… (the manifest)
	Integrity string // sha256:… of the layer blob
}

// FeatureShortName is the last element of ref without tag or digest
// ("ghcr.io/devcontainers/features/go:1" → "go").
func FeatureShortName(ref string) string { return featureShortName(ref) }

// IsOCIFeature reports whether ref names a feature in an OCI registry: a
// reference whose first element is a registry host
// ("ghcr.io/devcontainers/features/go:1", "localhost:5000/f/hello").
func IsOCIFeature(ref string) bool {
	host, _, ok := strings.Cut(ref, "/")
	return ok && !IsLocalFeature(ref) && !strings.Contains(ref, "://") &&
		(strings.ContainsAny(host, ".:") || host == "localhost")
}

// featureRepo is ref without its tag or digest:
// "ghcr.io/devcontainers/features/go:1" → "ghcr.io/devcontainers/features/go".
// It is what tells two references to the same feature apart from others.
func featureRepo(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return strings.ToLower(ref)
}

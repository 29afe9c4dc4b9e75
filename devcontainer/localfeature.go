package devcontainer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tailscale/hujson"
)

// Feature is one feature of a config, resolved on the client: a local
// feature's folder, its options as install.sh's environment and what its
// devcontainer-feature.json asks of the container.
type Feature struct {
	Ref    string // as devcontainer.json names it, e.g. "./features/hello"
	ID     string // its devcontainer-feature.json "id"
	Folder string // the feature's folder on this machine
	// For an OCI feature: its repository ("ghcr.io/devcontainers/features/go"),
	// the manifest it resolved to (repository@sha256:…) and its layer's digest.
	Repo, Resolved, Integrity string
	// DependencyOf is the feature whose dependsOn added this one ("" when
	// the config lists it).
	DependencyOf string
	// Env is the options as install.sh receives them: the names upper-cased
	// (other characters as _), the feature's defaults filled in.
	Env          map[string]string
	ContainerEnv map[string]string
	Meta         FeatureMeta
}

// FeatureMeta is the part of devcontainer-feature.json CodePod reads.
type FeatureMeta struct {
	ID            string                   `json:"id"`
	Version       string                   `json:"version,omitempty"`
	Name          string                   `json:"name,omitempty"`
	Options       map[string]FeatureOption `json:"options,omitempty"`
	ContainerEnv  map[string]string        `json:"containerEnv,omitempty"`
	InstallsAfter []string                 `json:"installsAfter,omitempty"`
	DependsOn     map[string]any           `json:"dependsOn,omitempty"`
	// Properties that reach past the sandbox, checked by the Policy like
	// devcontainer.json's own.
	Mounts      []Mount  `json:"mounts,omitempty"`
	Init        *bool    `json:"init,omitempty"`
	Privileged  *bool    `json:"privileged,omitempty"`
	CapAdd      []string `json:"capAdd,omitempty"`
	SecurityOpt []string `json:"securityOpt,omitempty"`
	Entrypoint  string   `json:"entrypoint,omitempty"`
}

// FeatureOption is one declared option: its default reaches install.sh
// when the config does not set it.
type FeatureOption struct {
	Type    string `json:"type,omitempty"`
	Default any    `json:"default,omitempty"`
}

// IsLocalFeature reports whether ref names a feature folder next to the
// config ("./x" or "../x") rather than one in a registry.
func IsLocalFeature(ref string) bool {
	return strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../")
}

// ResolveFeatures is ResolveFeaturesContext with the default fetcher.
func ResolveFeatures(configFile string, c *Config, p Policy) ([]Feature, error) {
	return ResolveFeaturesContext(context.Background(), configFile, c, p, nil)
}

// ResolveFeaturesContext reads the local features c names (relative to
// the folder of configFile) and fetches its OCI ones with f (nil: the
// default cache and credentials), pinned by configFile's
// devcontainer-lock.json when it has one (and completing it). The
// features the fetched ones dependsOn are added, transitively, with the
// options dependsOn gives. Each is checked against policy (naming the
// feature and the property); they come back in install order: dependsOn
// and installsAfter first, overrideFeatureInstallOrder next, then as
// sorted.
func ResolveFeaturesContext(ctx context.Context, configFile string, c *Config, p Policy, f FeatureSource) ([]Feature, error) {
	refs := make([]string, 0, len(c.Features))
	for ref := range c.Features {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	lock, err := ReadLockfile(configFile)
	if err != nil {
		return nil, err
	}
	lockChanged := false
	base := filepath.Dir(configFile)
	var out []Feature
	var vs []Violation
	have := func(ref string) bool {
		for _, g := range out {
			if g.Ref == ref || IsOCIFeature(ref) && g.Repo == featureRepo(ref) {
				return true
			}
		}
		return false
	}
	type want struct {
		ref  string
		opts FeatureOptions
		by   string // the feature whose dependsOn named it; "" for the config
	}
	var queue []want
	for _, ref := range refs {
		queue = append(queue, want{ref, c.Features[ref], ""})
	}
	for len(queue) > 0 {
		w := queue[0]
		queue = queue[1:]
		if w.by != "" && have(w.ref) {
			continue
		}
		var feat Feature
		switch {
		case IsLocalFeature(w.ref) && w.by != "" && IsLocalFeature(w.by):
			return nil, fmt.Errorf("feature %q dependsOn %q, which the config does not list: add it to \"features\"", w.by, w.ref)
		case IsLocalFeature(w.ref) && w.by != "":
			return nil, fmt.Errorf("feature %q dependsOn %q: a registry feature cannot depend on a local folder", w.by, w.ref)
		case IsLocalFeature(w.ref):
			if feat, err = readLocalFeature(base, w.ref, w.opts); err != nil {
				return nil, err
			}
		case IsOCIFeature(w.ref):
			var pin *LockedFeature
			if lf, ok := lock.get(w.ref); ok {
				pin = &lf
			}
			if f == nil {
				return nil, fmt.Errorf("feature %q is in an OCI registry and this caller fetches none: pass a FeatureSource (devcontainer/oci.FeatureFetcher), or copy the feature's folder into .devcontainer/ and name it \"./%s\"", w.ref, featureShortName(w.ref))
			}
			o, err := f.Fetch(ctx, w.ref, pin)
			if err != nil {
				return nil, err
			}
			if feat, err = readFeatureDir(o.Folder, w.ref, w.opts); err != nil {
				return nil, err
			}
			feat.Repo, feat.Resolved, feat.Integrity = featureRepo(w.ref), o.Resolved, o.Integrity
			if lock != nil && pin == nil {
				if lock.Features == nil {
					lock.Features = map[string]LockedFeature{}
				}
				lock.Features[w.ref] = LockedFeature{Version: feat.Meta.Version, Resolved: o.Resolved, Integrity: o.Integrity, DependsOn: sortedAnyKeys(feat.Meta.DependsOn)}
				lockChanged = true
			}
		default:
			return nil, fmt.Errorf("feature %q: neither a local folder (\"./%s\") nor a registry reference (\"ghcr.io/owner/features/%s:1\"); "+
				"the short names of the retired devcontainers/features repository and tarball URLs are not supported", w.ref, featureShortName(w.ref), featureShortName(w.ref))
		}
		if w.by != "" {
			feat.DependencyOf = w.by
		}
		vs = append(vs, p.checkFeature(w.ref, &feat.Meta)...)
		out = append(out, feat)
		for _, dep := range sortedAnyKeys(feat.Meta.DependsOn) {
			if have(dep) {
				continue
			}
			if listed(c.Features, dep) {
				continue // the config's own entry comes with its options
			}
			opts, err := dependsOnOptions(feat.Meta.DependsOn[dep])
			if err != nil {
				return nil, fmt.Errorf("feature %q dependsOn %q: %w", w.ref, dep, err)
			}
			queue = append(queue, want{dep, opts, w.ref})
		}
	}
	if len(vs) > 0 {
		return nil, &PolicyError{vs}
	}
	if lockChanged {
		if err := WriteLockfile(configFile, lock); err != nil {
			return nil, err
		}
	}
	return orderFeatures(out, c.FeatureOrder)
}

// listed reports whether features names dep (the same reference, or the
// same registry repository with another tag).
func listed(features Features, dep string) bool {
	for ref := range features {
		if ref == dep || IsOCIFeature(dep) && IsOCIFeature(ref) && featureRepo(ref) == featureRepo(dep) {
			return true
		}
	}
	return false
}

// get is the entry for ref; a nil lockfile has none.
func (l *Lockfile) get(ref string) (LockedFeature, bool) {
	if l == nil {
		return LockedFeature{}, false
	}
	lf, ok := l.Features[ref]
	return lf, ok
}

// dependsOnOptions reads a dependsOn value (an object of options) as
// FeatureOptions.
func dependsOnOptions(v any) (FeatureOptions, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var o FeatureOptions
	if err := o.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return o, nil
}

// featureShortName is the last path element of a registry ref, without
// its tag or digest: "ghcr.io/devcontainers/features/go:1" → "go".
func featureShortName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	last := ref[strings.LastIndex(ref, "/")+1:]
	last, _, _ = strings.Cut(last, ":")
	return last
}

func readLocalFeature(base, ref string, opts FeatureOptions) (Feature, error) {
	return readFeatureDir(filepath.Join(base, filepath.FromSlash(ref)), ref, opts)
}

// readFeatureDir reads the feature in dir (devcontainer-feature.json and
// install.sh) with opts as the config gives them for ref.
func readFeatureDir(dir, ref string, opts FeatureOptions) (Feature, error) {
	b, err := os.ReadFile(filepath.Join(dir, "devcontainer-feature.json"))
	if err != nil {
		return Feature{}, fmt.Errorf("feature %q: %w (a feature is a folder with devcontainer-feature.json and install.sh)", ref, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "install.sh")); err != nil {
		return Feature{}, fmt.Errorf("feature %q: %w (a feature needs an install.sh)", ref, err)
	}
	std, err := hujson.Standardize(b)
	if err != nil {
		return Feature{}, fmt.Errorf("feature %q: devcontainer-feature.json is not valid JSON: %w", ref, err)
	}
	var m FeatureMeta
	if err := json.Unmarshal(std, &m); err != nil {
		return Feature{}, fmt.Errorf("feature %q: devcontainer-feature.json: %w", ref, plain(err))
	}
	if m.ID == "" {
		m.ID = filepath.Base(dir)
		if !IsLocalFeature(ref) {
			m.ID = featureShortName(ref)
		}
	}
	env := map[string]string{}
	for name, o := range m.Options {
		if o.Default != nil {
			env[OptionEnvName(name)] = optionString(o.Default)
		}
	}
	for name, v := range opts {
		if _, ok := m.Options[name]; !ok && len(m.Options) > 0 {
			return Feature{}, fmt.Errorf("feature %q has no option %q (it has: %s)", ref, name, strings.Join(sortedOptionNames(m.Options), ", "))
		}
		env[OptionEnvName(name)] = v
	}
	return Feature{Ref: ref, ID: m.ID, Folder: dir, Env: env, ContainerEnv: m.ContainerEnv, Meta: m}, nil
}

func sortedOptionNames(m map[string]FeatureOption) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func optionString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var (
	notWordRE       = regexp.MustCompile(`[^\w_]`)
	leadingDigitsRE = regexp.MustCompile(`^[\d_]+`)
)

// OptionEnvName is the environment variable an option reaches install.sh
// as, the way the reference CLI names it: other characters than letters,
// digits and _ become _, leading digits and _ become one _, upper case.
func OptionEnvName(name string) string {
	return strings.ToUpper(leadingDigitsRE.ReplaceAllString(notWordRE.ReplaceAllString(name, "_"), "_"))
}

// checkFeature lists what a feature's metadata asks that p refuses, each
// named features["REF"].PROPERTY.
func (p Policy) checkFeature(ref string, m *FeatureMeta) []Violation {
	c := &Config{Privileged: m.Privileged, CapAdd: m.CapAdd, SecurityOpt: m.SecurityOpt, Mounts: m.Mounts}
	var vs []Violation
	if err := p.Check(c); err != nil {
		for _, v := range err.(*PolicyError).Violations {
			vs = append(vs, Violation{Property: fmt.Sprintf("features[%q].%s", ref, v.Property), Reason: v.Reason})
		}
	}
	for i, mt := range m.Mounts {
		if !mt.HostBind() { // bind mounts were refused above
			vs = append(vs, Violation{Property: fmt.Sprintf("features[%q].mounts[%d]", ref, i),
				Reason: "a feature's volume mounts are not applied yet; mount the volume in devcontainer.json's \"mounts\" instead"})
		}
	}
	if m.Init != nil && *m.Init {
		vs = append(vs, Violation{Property: fmt.Sprintf("features[%q].init", ref), Reason: "the sandbox's agent is its init (PID 1); a second init is not run"})
	}
	if m.Entrypoint != "" {
		vs = append(vs, Violation{Property: fmt.Sprintf("features[%q].entrypoint", ref), Reason: "the sandbox's agent is its entrypoint; a feature's entrypoint is not run"})
	}
	return vs
}

// orderFeatures sorts fs so that every feature comes after those it
// dependsOn or installsAfter (when they are in the config), keeping
// overrideFeatureInstallOrder's order, then the sorted order, among the
// ones free to go next.
func orderFeatures(fs []Feature, override []string) ([]Feature, error) {
	rank := func(f Feature) int {
		for i, o := range override {
			if o == f.Ref || o == f.ID || f.Repo != "" && f.Repo == featureRepo(o) { // "ghcr.io/…/go" names any tag of it
				return i
			}
		}
		return len(override)
	}
	find := func(name string) int {
		for i, f := range fs {
			if f.Ref == name || f.ID == name || f.Repo != "" && f.Repo == featureRepo(name) ||
				featureShortName(name) == f.ID && !IsLocalFeature(name) {
				return i
			}
		}
		return -1
	}
	after := make([][]int, len(fs)) // after[i]: the features i waits for
	for i, f := range fs {
		for _, dep := range sortedAnyKeys(f.Meta.DependsOn) {
			j := find(dep)
			if j < 0 {
				return nil, fmt.Errorf("feature %q dependsOn %q, which the config does not list: add it to \"features\"", f.Ref, dep)
			}
			after[i] = append(after[i], j)
		}
		for _, dep := range f.Meta.InstallsAfter {
			if j := find(dep); j >= 0 {
				after[i] = append(after[i], j)
			}
		}
	}
	done := make([]bool, len(fs))
	var out []Feature
	for len(out) < len(fs) {
		next := -1
		for i := range fs {
			if done[i] {
				continue
			}
			ready := true
			for _, j := range after[i] {
				ready = ready && (done[j] || j == i)
			}
			if ready && (next < 0 || rank(fs[i]) < rank(fs[next])) {
				next = i
			}
		}
		if next < 0 {
			var left []string
			for i, f := range fs {
				if !done[i] {
					left = append(left, f.Ref)
				}
			}
			return nil, fmt.Errorf("features %s depend on each other in a cycle (dependsOn/installsAfter)", strings.Join(left, ", "))
		}
		done[next] = true
		out = append(out, fs[next])
	}
	return out, nil
}

func sortedAnyKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Package images builds CodePod's own sandbox images on the local engine,
// without a registry and without `docker build`: it makes a root file system
// and imports it as a tar stream (the Engine API's image import).
//
//   - codepod/tiny:latest: a static busybox with its applets, for tests;
//     builds in about a second.
//   - codepod/base:latest: Debian bookworm (minbase) with python3, git, curl,
//     bash and ca-certificates, made with debootstrap; the default image of
//     sandboxes. Needs root, debootstrap and a Debian mirror.
//
// The recipes are described in images/README.md at the repository's root.
package images

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
)

// Image names as `codepod image build` takes them.
const (
	Tiny = "tiny"
	Base = "base"
)

var refs = map[string]string{
	Tiny: "codepod/tiny:latest",
	Base: "codepod/base:latest",
}

// Names lists the images this package builds.
func Names() []string { return []string{Base, Tiny} }

// Ref is the image reference of name, e.g. "codepod/base:latest".
func Ref(name string) (string, error) {
	ref, ok := refs[name]
	if !ok {
		return "", fmt.Errorf("unknown image %q: CodePod builds %v", name, Names())
	}
	return ref, nil
}

// Engine is what building needs of a container engine; runner/docker's
// Backend provides it.
type Engine interface {
	// ImageID is the id of the local image ref, "" when there is none.
	ImageID(ctx context.Context, ref string) (string, error)
	// ImportImage makes ref from a root file system tar stream.
	ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error
	// RemoveImage removes an image by id, leaving one in use alone.
	RemoveImage(ctx context.Context, id string) error
}

// Options tune the recipes; the zero value uses the defaults.
type Options struct {
	Busybox string // static busybox for tiny (default /bin/busybox)
	Mirror  string // Debian mirror for base (default: the host's apt source, else deb.debian.org)
	TempDir string // where base's root file system is made (default os.TempDir)
	Ref     string // tag to build instead of the image's own (tests use a throwaway one)
	// CacheDir keeps the .deb files debootstrap downloads for base, so a
	// rebuild downloads only what changed (debootstrap checks each cached
	// file against the signed Release's checksums before using it).
	// Default: DefaultCacheDir(); "off" downloads everything every time.
	CacheDir string
	// Progress, when set, hears the build's progress (base: debootstrap's
	// steps, then the import's percent) as it goes; it is also logged.
	Progress func(msg string)
}

// Build (re)builds image name ("tiny" or "base") with default options.
func Build(ctx context.Context, e Engine, name string, log *slog.Logger) error {
	return BuildWith(ctx, e, name, Options{}, log)
}

// BuildWith (re)builds image name. The previous image of the same tag is
// removed afterwards when no container uses it.
func BuildWith(ctx context.Context, e Engine, name string, opts Options, log *slog.Logger) error {
	ref, err := Ref(name)
	if err != nil {
		return err
	}
	if opts.Ref != "" {
		ref = opts.Ref
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	old, err := e.ImageID(ctx, ref)
	if err != nil {
		return err
	}
	build := buildTiny
	if name == Base {
		build = buildBase
	}
	if err := build(ctx, e, ref, opts, log); err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	return dropOld(ctx, e, ref, old, log)
}

// Ensure builds image name unless it is already local; it reports whether
// it built.
func Ensure(ctx context.Context, e Engine, name string, log *slog.Logger) (bool, error) {
	ref, err := Ref(name)
	if err != nil {
		return false, err
	}
	id, err := e.ImageID(ctx, ref)
	if err != nil || id != "" {
		return false, err
	}
	return true, Build(ctx, e, name, log)
}

// EnsureBase builds codepod/base:latest unless it is already local.
func EnsureBase(ctx context.Context, e Engine, log *slog.Logger) (bool, error) {
	return Ensure(ctx, e, Base, log)
}

func dropOld(ctx context.Context, e Engine, ref, old string, log *slog.Logger) error {
	id, err := e.ImageID(ctx, ref)
	if err != nil {
		return err
	}
	log.Info("image built", "image", ref, "id", id)
	if old != "" && old != id {
		if err := e.RemoveImage(ctx, old); err != nil {
			log.Warn("cannot remove the previous image", "id", old, "err", err)
		}
	}
	return nil
}

// pathEnv is the PATH both images set.
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func changes(name string, extra ...string) []string {
	return slices.Concat([]string{"ENV " + pathEnv, "LABEL dev.codepod.image=" + name}, extra)
}

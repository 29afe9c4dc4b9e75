package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/go-units"

	"github.com/codepod-dev/codepod"
)

// EnsureImage makes ref local, pulling it when it is missing and passing
// the pull's progress on. A failed pull is an ENOTFOUND *codepod.Error that
// names the image and the engine's reason.
func (b *Backend) EnsureImage(ctx context.Context, ref string, progress func(msg string)) error {
	img, err := b.cli.ImageInspect(ctx, ref)
	if err == nil {
		b.rememberArgv(ref, img.Config)
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", ref, err)
	}
	progress("pulling image " + ref)
	b.log.Info("pulling image", "image", ref)
	if err := b.pull(ctx, ref, progress); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return codepod.Errorf(codepod.ENOTFOUND, "image %q is not on this runner and could not be pulled: %s", ref, err)
	}
	return nil
}

// pull runs an image pull to its end; the engine reports most failures
// inside the JSON stream, not as the call's error.
func (b *Backend) pull(ctx context.Context, ref string, progress func(string)) error {
	rc, err := b.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return readStream(rc, func(m *streamMessage) {
		if msg := pullMessage(m); msg != "" {
			progress("pulling image " + ref + ": " + msg)
		}
	})
}

// streamMessage is one message of the engine's JSON progress stream (the
// fields of jsonmessage.JSONMessage CodePod reads, without that package's
// terminal dependencies).
type streamMessage struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	ErrorMessage string `json:"error"`
	Stream       string `json:"stream"` // a build's output
}

// readStream decodes an engine JSON message stream, handing each message to
// fn, and returns the first error message in it.
func readStream(r io.Reader, fn func(*streamMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read engine stream: %w", err)
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		if m.ErrorMessage != "" {
			return errors.New(m.ErrorMessage)
		}
		if fn != nil {
			fn(&m)
		}
	}
}

// pullMessage renders one pull message, e.g. "3f4a…: Downloading 12MB/40MB".
func pullMessage(m *streamMessage) string {
	parts := []string{}
	if m.ID != "" {
		parts = append(parts, m.ID+":")
	}
	if m.Status != "" {
		parts = append(parts, m.Status)
	}
	if p := m.Progress; p != nil && p.Total > 0 {
		parts = append(parts, units.HumanSize(float64(p.Current))+"/"+units.HumanSize(float64(p.Total)))
	}
	return strings.Join(parts, " ")
}

// ImageID returns the id of the local image ref, or "" when it is missing.
func (b *Backend) ImageID(ctx context.Context, ref string) (string, error) {
	img, err := b.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return img.ID, nil
}

// ImportImage makes image ref from a root file system tar stream (like
// `docker import`), applying Dockerfile-style changes such as
// `CMD ["/bin/sh"]`.
func (b *Backend) ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error {
	rc, err := b.cli.ImageImport(ctx, image.ImportSource{Source: rootfs, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("import image %s: %w", ref, err)
	}
	defer rc.Close()
	if err := readStream(rc, nil); err != nil {
		return fmt.Errorf("import image %s: %w", ref, err)
	}
	return nil
}

// RemoveImage removes an image by id; one in use or already gone is left
// alone (nil).
func (b *Backend) RemoveImage(ctx context.Context, id string) error {
	_, err := b.cli.ImageRemove(ctx, id, image.RemoveOptions{PruneChildren: true})
	if err == nil || cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) {
		return nil
	}
	return fmt.Errorf("remove image %s: %w", id, err)
}

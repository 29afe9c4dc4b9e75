package docker

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
)

// buildTail is how many of a failed build's last output lines its error
// carries.
const buildTail = 12

// BuildImage builds req.Tag from the build context tar at req.ContextPath
// with the engine's builder, passing each output line ("Step 2/5 : RUN …")
// to progress. A failed build is an EINVALID *codepod.Error carrying the
// failing step and its last lines of output.
func (b *Backend) BuildImage(ctx context.Context, req runner.BuildRequest, progress func(string)) error {
	f, err := os.Open(req.ContextPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var buildCtx io.Reader = f
	if req.ExtraFile != "" || req.DropPrefix != "" {
		buildCtx = rewriteContext(f, req.DropPrefix, req.ExtraFile, req.ExtraContent)
	}
	args := map[string]*string{}
	for k, v := range req.Args {
		args[k] = &v
	}
	opts := build.ImageBuildOptions{
		Tags: []string{req.Tag}, Dockerfile: req.Dockerfile, BuildArgs: args, Target: req.Target,
		CacheFrom: req.CacheFrom, Remove: true, ForceRemove: true, NetworkMode: req.NetworkMode,
		Labels: map[string]string{LabelBuild: req.Tag},
	}
	if req.MemoryBytes > 0 {
		opts.Memory, opts.MemorySwap = req.MemoryBytes, req.MemoryBytes
	}
	if req.CPU > 0 {
		opts.CPUPeriod, opts.CPUQuota = 100000, int64(req.CPU*100000)
	}
	resp, err := b.cli.ImageBuild(ctx, buildCtx, opts)
	if err != nil {
		return fmt.Errorf("build image %s: %w", req.Tag, err)
	}
	defer resp.Body.Close()
	var step string
	var tail []string
	err = readStream(resp.Body, func(m *streamMessage) {
		for _, line := range strings.Split(strings.TrimRight(m.Stream, "\n"), "\n") {
			line = strings.TrimRight(line, "\r ")
			if line == "" {
				continue
			}
			if strings.HasPrefix(line, "Step ") {
				step, tail = line, nil
			} else {
				tail = append(tail, line)
				if len(tail) > buildTail {
					tail = tail[1:]
				}
			}
			progress(line)
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := "the image build failed"
		if step != "" {
			msg += " at " + strconv.Quote(step)
		}
		msg += ": " + err.Error()
		if len(tail) > 0 {
			msg += "\n" + strings.Join(tail, "\n")
		}
		return codepod.Errorf(codepod.EINVALID, "%s", msg)
	}
	return nil
}

// rewriteContext streams the tar r without the entries below drop (when
// set) and with one more regular file, name (when set), at its end: a
// generated Dockerfile.
func rewriteContext(r io.Reader, drop, name string, content []byte) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tr := tar.NewReader(bufio.NewReader(r))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pw.CloseWithError(fmt.Errorf("read build context: %w", err))
				return
			}
			clean := path.Clean(h.Name)
			if clean == name || drop != "" && (clean == drop || strings.HasPrefix(clean, drop+"/")) {
				continue
			}
			if err := tw.WriteHeader(h); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(tw, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if name != "" {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
				pw.CloseWithError(err)
				return
			}
			tw.Write(content)
		}
		pw.CloseWithError(tw.Close())
	}()
	return pr
}

// copyWorkspace extracts the tar at ws.TarPath into ws.Folder of the
// created (not yet started) container id, owned by ws.User as the image's
// /etc/passwd and /etc/group name it (root when it has no such user).
// The engine writes inside the container's own file system: nothing on the
// host follows a path the tenant chose.
func (b *Backend) copyWorkspace(ctx context.Context, id string, ws *runner.WorkspaceCopy) error {
	uid, gid := b.userIDs(ctx, id, ws.User)
	f, err := os.Open(ws.TarPath)
	if err != nil {
		return err
	}
	defer f.Close()
	rel := strings.Trim(path.Clean(ws.Folder), "/")
	// A folder the image has already (say /tmp, or a home) keeps its mode
	// and owner, and so do its existing parents; a new one is made, owned
	// by the user.
	// Asked before the copy starts: the engine holds the container while it
	// extracts, so a stat from the tar's writer would wait for ever.
	have := map[string]bool{}
	dir := ""
	for _, part := range strings.Split(rel, "/") {
		dir = path.Join(dir, part)
		_, err := b.cli.ContainerStatPath(ctx, id, "/"+dir)
		have[dir] = err == nil
	}
	exists := func(dir string) bool { return have[dir] }
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rebase(f, rel, uid, gid, exists, pw)) }()
	err = b.cli.CopyToContainer(ctx, id, "/", pr, container.CopyToContainerOptions{AllowOverwriteDirWithFile: false})
	pr.CloseWithError(err)
	if err != nil {
		return codepod.Errorf(codepod.EINVALID, "copy the workspace into %s: %s", ws.Folder, err)
	}
	return nil
}

// rebase writes the tar r to w with every entry moved below rel, owned by
// uid:gid. Directories on the way that do not exist yet (exists says)
// get entries first: rel's parents 0755 root, rel itself 0755 uid:gid. An
// existing one gets none, so the image's /tmp, /home or a folder it has
// keeps its mode and owner. Entries that would leave rel (absolute, .., or
// a hard link out of it) are refused.
func rebase(r io.Reader, rel string, uid, gid int, exists func(dir string) bool, w io.Writer) error {
	tw := tar.NewWriter(w)
	dir := ""
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		dir = path.Join(dir, part)
		if exists(dir) {
			continue
		}
		h := &tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}
		if i == len(parts)-1 {
			h.Uid, h.Gid = uid, gid
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	tr := tar.NewReader(bufio.NewReader(r))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tw.Close()
		}
		if err != nil {
			return fmt.Errorf("read workspace archive: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." {
			continue
		}
		if path.IsAbs(h.Name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("workspace archive entry %q leaves its folder", h.Name)
		}
		h.Name = path.Join(rel, name)
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		if h.Typeflag == tar.TypeLink {
			l := path.Clean(h.Linkname)
			if path.IsAbs(l) || l == ".." || strings.HasPrefix(l, "../") {
				return fmt.Errorf("workspace archive hard link %q leaves its folder", h.Name)
			}
			h.Linkname = path.Join(rel, l)
		}
		h.Uid, h.Gid, h.Uname, h.Gname = uid, gid, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// userIDs resolves user (a name or uid, optionally :group) against the
// created container's /etc/passwd and /etc/group; "" is the image's USER.
// Anything it cannot resolve is root (0, 0).
func (b *Backend) userIDs(ctx context.Context, id, user string) (int, int) {
	if user == "" {
		if img, err := b.cli.ContainerInspect(ctx, id); err == nil && img.Image != "" {
			if ii, err := b.cli.ImageInspect(ctx, img.Image); err == nil && ii.Config != nil {
				user = ii.Config.User
			}
		}
	}
	if user == "" {
		return 0, 0
	}
	name, group, _ := strings.Cut(user, ":")
	uid, gid := -1, -1
	if n, err := strconv.Atoi(name); err == nil {
		uid = n
	}
	passwd := b.readContainerFile(ctx, id, "/etc/passwd")
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || (f[0] != name && f[2] != name) {
			continue
		}
		uid, _ = strconv.Atoi(f[2])
		gid, _ = strconv.Atoi(f[3])
		break
	}
	if group != "" {
		if n, err := strconv.Atoi(group); err == nil {
			gid = n
		} else {
			for _, line := range strings.Split(b.readContainerFile(ctx, id, "/etc/group"), "\n") {
				if f := strings.Split(line, ":"); len(f) >= 3 && f[0] == group {
					gid, _ = strconv.Atoi(f[2])
				}
			}
		}
	}
	if uid < 0 {
		return 0, 0
	}
	if gid < 0 {
		gid = uid
	}
	return uid, gid
}

// readContainerFile reads a small file of a container ("" when it cannot).
func (b *Backend) readContainerFile(ctx context.Context, id, p string) string {
	rc, _, err := b.cli.CopyFromContainer(ctx, id, p)
	if err != nil {
		return ""
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil || h.Typeflag != tar.TypeReg {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(tr, 1<<20))
	return string(data)
}

// ImageUser is the USER of the local image ref ("" for root or none).
func (b *Backend) ImageUser(ctx context.Context, ref string) (string, error) {
	img, err := b.cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if img.Config == nil {
		return "", nil
	}
	return img.Config.User, nil
}

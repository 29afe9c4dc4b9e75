package images

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"strings"
	"time"
)

// DefaultBusybox is where Debian's busybox-static installs the binary.
const DefaultBusybox = "/bin/busybox"

// epoch is the modification time of every file in the tiny image, so its
// layer is the same from build to build.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// buildTiny imports a root file system of busybox, a symlink per applet,
// /etc/passwd and /etc/group with root, and /tmp.
func buildTiny(ctx context.Context, e Engine, ref string, opts Options, log *slog.Logger) error {
	bb := opts.Busybox
	if bb == "" {
		bb = DefaultBusybox
	}
	if err := checkStatic(bb); err != nil {
		return err
	}
	applets, err := listApplets(ctx, bb)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := writeTinyTar(&buf, bb, applets); err != nil {
		return err
	}
	log.Info("importing image", "image", ref, "bytes", buf.Len(), "applets", len(applets))
	return e.ImportImage(ctx, ref, &buf, changes(Tiny, `CMD ["/bin/sh"]`))
}

// checkStatic refuses a dynamically linked busybox, which would not run in
// an image without a C library.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("busybox %s: %w (install busybox-static)", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %s is dynamically linked; the tiny image needs a static one (apt-get install busybox-static)", bin)
		}
	}
	return nil
}

// listApplets asks busybox for its applets' install paths (bin/sh, …).
func listApplets(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	var applets []string
	for _, l := range strings.Fields(string(out)) {
		l = path.Clean(strings.TrimPrefix(l, "/"))
		if l != "bin/busybox" && !strings.HasPrefix(l, "..") {
			applets = append(applets, l)
		}
	}
	return applets, nil
}

var tinyDirs = []struct {
	name string
	mode int64
}{
	{"bin", 0o755}, {"sbin", 0o755}, {"usr", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755},
	{"etc", 0o755}, {"root", 0o700}, {"home", 0o755}, {"tmp", 0o1777}, {"var", 0o755},
	{"var/tmp", 0o1777}, {"proc", 0o555}, {"sys", 0o555}, {"dev", 0o755},
}

var tinyFiles = map[string]string{
	"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
	"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
}

func writeTinyTar(w io.Writer, busybox string, applets []string) error {
	tw := tar.NewWriter(w)
	for _, d := range tinyDirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name + "/", Mode: d.mode, ModTime: epoch}); err != nil {
			return err
		}
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	if err := writeFile(tw, "bin/busybox", 0o755, bin); err != nil {
		return err
	}
	for _, name := range []string{"etc/group", "etc/passwd"} {
		if err := writeFile(tw, name, 0o644, []byte(tinyFiles[name])); err != nil {
			return err
		}
	}
	for _, a := range applets {
		h := &tar.Header{Typeflag: tar.TypeSymlink, Name: a, Linkname: "/bin/busybox", Mode: 0o777, ModTime: epoch}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

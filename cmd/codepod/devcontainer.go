package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/devcontainer"
)

// devcontainerApplied are the properties `sandbox create --devcontainer`
// applies today; "name" is a display name with nothing to apply. Every
// other property set is named in a warning until the runner applies it.
var devcontainerApplied = map[string]bool{"image": true, "containerEnv": true, "remoteEnv": true, "name": true,
	"build": true, "features": true, "overrideFeatureInstallOrder": true, "workspaceFolder": true}

// devcontainerSource is a found, parsed and checked devcontainer.json.
type devcontainerSource struct {
	File   string               // the config file
	Local  string               // the project folder it belongs to
	Config *devcontainer.Config // substituted
}

// applyDevcontainer reads the devcontainer.json at path (a file, or a
// project folder searched like the reference CLI, config choosing among
// several), refuses it when the default policy does, and sets the image and
// environment it names unless flags already did. Warnings go to w.
func applyDevcontainer(w io.Writer, path, config string, image *string, env *[]string) (*devcontainerSource, error) {
	file, err := findDevcontainer(path, config)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--devcontainer: %w", err)
	}
	raw, err := devcontainer.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	local := devcontainer.WorkspaceFolder(file)
	abs, _ := filepath.Abs(file)
	dc, err := raw.Substitute(devcontainer.Vars{
		LocalWorkspaceFolder: local,
		LocalEnv:             os.LookupEnv,
		DevcontainerID:       devcontainer.DevcontainerID(devcontainer.IDLabels(local, abs)),
	})
	if err != nil {
		return nil, fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	if err := (devcontainer.Policy{}).Check(dc); err != nil {
		return nil, fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	if dc.Image == "" && dc.Build == nil {
		if len(dc.DockerComposeFile) > 0 {
			return nil, fmt.Errorf("--devcontainer %s: \"dockerComposeFile\" is not supported: name the service's image in \"image\", or its Dockerfile in \"build\"", file)
		}
		return nil, fmt.Errorf("--devcontainer %s: no \"image\" and no \"build\": name an image or a Dockerfile", file)
	}
	if *image == "" && dc.Build == nil {
		*image = dc.Image
	}
	*env = append(devcontainerEnv(w, file, dc), *env...) // flags come last and win
	warnNotApplied(w, file, dc)
	return &devcontainerSource{File: file, Local: local, Config: dc}, nil
}

// uploadDevcontainer packs what src needs on the runner — the build
// context (with its local features) and the project folder for
// workspaceFolder — uploads what the server does not have yet, and names
// them in req. Progress goes to w.
func uploadDevcontainer(ctx context.Context, w io.Writer, c *apiClient, src *devcontainerSource, skipGitignored bool, req *client.CreateSandboxRequest) error {
	plan, err := devcontainer.PlanBuild(src.File, src.Config, devcontainer.Policy{})
	if err != nil {
		return fmt.Errorf("--devcontainer %s: %w", src.File, err)
	}
	if plan != nil {
		defer plan.Context.Remove()
		if err := uploadArchive(ctx, w, c, "build context", plan.Context); err != nil {
			return err
		}
		b := &client.BuildRequest{Context: plan.Context.Digest}
		setIf(&b.Dockerfile, plan.Dockerfile)
		setIf(&b.Target, plan.Target)
		setIf(&b.Image, plan.Image)
		if len(plan.Args) > 0 {
			b.Args = &plan.Args
		}
		if len(plan.CacheFrom) > 0 {
			b.CacheFrom = &plan.CacheFrom
		}
		if len(plan.Features) > 0 {
			fs := make([]client.BuildFeature, 0, len(plan.Features))
			for _, f := range plan.Features {
				bf := client.BuildFeature{Id: f.ID, Dir: f.Dir}
				if len(f.Env) > 0 {
					bf.Env = &f.Env
				}
				if len(f.ContainerEnv) > 0 {
					bf.ContainerEnv = &f.ContainerEnv
				}
				fs = append(fs, bf)
			}
			b.Features = &fs
		}
		req.Build, req.Image = b, nil
	}
	ws, err := devcontainer.PackWorkspace(src.Local, skipGitignored)
	if err != nil {
		return fmt.Errorf("--devcontainer: pack the workspace %s: %w", src.Local, err)
	}
	defer ws.Remove()
	if err := uploadArchive(ctx, w, c, "workspace "+src.Local, ws); err != nil {
		return err
	}
	req.Workspace = &client.WorkspaceRequest{Archive: ws.Digest, Folder: src.Config.ContainerWorkspace(src.Local)}
	return nil
}

// uploadArchive uploads a unless the server has it already (HEAD).
func uploadArchive(ctx context.Context, w io.Writer, c *apiClient, what string, a *devcontainer.Archive) error {
	h, err := c.HeadBlob(ctx, a.Digest) // a HEAD answer has no body to decode
	if err != nil {
		return fmt.Errorf("cannot reach the CodePod server at %s: %w", c.ServerURL, err)
	}
	h.Body.Close()
	if h.StatusCode >= 200 && h.StatusCode < 300 {
		fmt.Fprintf(w, "%s: already on the server (%s)\n", what, a.Digest[:19])
		return nil
	}
	f, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(w, "%s: uploading %s (%s)\n", what, codepod.FormatBytes(a.Size), a.Digest[:19])
	r, err := c.UploadBlobWithBodyWithResponse(ctx, a.Digest, "application/x-tar", f)
	if err := c.check(err, r); err != nil {
		return fmt.Errorf("upload the %s: %w", what, err)
	}
	return nil
}

// findDevcontainer resolves --devcontainer and --config to one file.
func findDevcontainer(path, config string) (string, error) {
	if path == "" {
		path = "."
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--devcontainer: %w", err)
	}
	if !fi.IsDir() {
		if config != "" {
			return "", fmt.Errorf("--config chooses a config inside a project folder; --devcontainer %s is already a file", path)
		}
		return path, nil
	}
	file, err := devcontainer.Find(path, config)
	if err != nil {
		return "", fmt.Errorf("--devcontainer: %w", err)
	}
	return file, nil
}

// devcontainerEnv is containerEnv then remoteEnv as sorted KEY=VALUE pairs.
// A value naming ${containerEnv:VAR} needs the container's environment,
// which only the runner can read: it is left out with a warning rather than
// set to the literal text.
func devcontainerEnv(w io.Writer, file string, dc *devcontainer.Config) []string {
	var out []string
	for _, p := range []struct {
		name string
		m    map[string]string
	}{{"containerEnv", dc.ContainerEnv}, {"remoteEnv", dc.RemoteEnv}} {
		prop := p.name
		keys := make([]string, 0, len(p.m))
		for k := range p.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := p.m[k]
			if strings.Contains(v, "${containerEnv:") {
				fmt.Fprintf(w, "warning: %s: %s.%s is not set: it uses ${containerEnv:…}, which CodePod does not resolve yet\n", file, prop, k)
				continue
			}
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// warnNotApplied names every property the config sets that the sandbox
// will not get, and every property this version does not know.
func warnNotApplied(w io.Writer, file string, dc *devcontainer.Config) {
	unknown := map[string]bool{}
	for _, k := range dc.UnknownProperties() {
		unknown[k] = true
	}
	var later []string
	for _, k := range dc.Properties() {
		if !devcontainerApplied[k] && !unknown[k] {
			later = append(later, k)
		}
	}
	if len(later) > 0 {
		fmt.Fprintf(w, "warning: %s: not applied yet: %s (CodePod applies image, build, features, workspaceFolder, containerEnv and remoteEnv so far; see docs/devcontainers.md)\n", file, strings.Join(later, ", "))
	}
	if len(unknown) > 0 {
		fmt.Fprintf(w, "warning: %s: unknown properties, ignored: %s (check the spelling against containers.dev)\n", file, strings.Join(dc.UnknownProperties(), ", "))
	}
}

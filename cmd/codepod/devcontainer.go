package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/devcontainer"
	"github.com/codepod-dev/codepod/devcontainer/oci"
)

// devcontainerApplied are the properties `sandbox create --devcontainer`
// applies ("name" is a display name with nothing to apply). Every other
// property set is named in a warning (waitFor and shutdownAction are sent
// but not honoured yet: docs/devcontainers.md).
var devcontainerApplied = map[string]bool{
	"image": true, "containerEnv": true, "remoteEnv": true, "name": true,
	"onCreateCommand": true, "updateContentCommand": true, "postCreateCommand": true,
	"postStartCommand": true, "postAttachCommand": true,
	"remoteUser": true, "containerUser": true, "updateRemoteUserUID": true, "workspaceFolder": true,
	"forwardPorts": true, "portsAttributes": true, "overrideCommand": true,
	"hostRequirements": true, "mounts": true,
	"build": true, "features": true, "overrideFeatureInstallOrder": true,
	// decided by the server's policy, which names them when it refuses
	"privileged": true, "capAdd": true, "securityOpt": true, "runArgs": true, "initializeCommand": true,
}

// devcontainerSource is a found, parsed and checked devcontainer.json.
type devcontainerSource struct {
	File   string               // the config file
	Local  string               // the project folder it belongs to
	Config *devcontainer.Config // substituted
}

// applyDevcontainer reads the devcontainer.json at path (a file, or a
// project folder searched like the reference CLI, config choosing among
// several), refuses it early when the default policy does (the server
// decides for good), and sets the image, containerEnv and the
// devcontainer settings (devcontainer.ToSpec) unless flags already did.
// Warnings go to w.
func applyDevcontainer(w io.Writer, path, config string, image *string, env *[]string, req *client.CreateSandboxRequest) (*devcontainerSource, error) {
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
	spec, err := devcontainer.ToSpec(dc)
	if err != nil {
		return nil, fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	m, err := toMap(spec)
	if err != nil {
		return nil, err
	}
	req.Devcontainer = &m
	*env = append(devcontainerEnv(dc), *env...) // flags come last and win
	warnNotApplied(w, file, dc)
	return &devcontainerSource{File: file, Local: local, Config: dc}, nil
}

// uploadDevcontainer packs what src needs on the runner — the build
// context (with its local features and the OCI ones it fetches) and the project folder for
// workspaceFolder — uploads what the server does not have yet, and names
// them in req. Progress goes to w.
func uploadDevcontainer(ctx context.Context, w io.Writer, c *apiClient, src *devcontainerSource, skipGitignored bool, req *client.CreateSandboxRequest) error {
	fetcher := &oci.FeatureFetcher{Log: func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }}
	plan, err := devcontainer.PlanBuildContext(ctx, src.File, src.Config, devcontainer.Policy{}, fetcher)
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

// toMap is v as a JSON object.
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
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

// devcontainerEnv is containerEnv as sorted KEY=VALUE pairs: the
// container's environment. remoteEnv is the sessions' (the agent sets it,
// resolving ${containerEnv:VAR} from the container).
func devcontainerEnv(dc *devcontainer.Config) []string {
	var out []string
	for k, v := range dc.ContainerEnv {
		out = append(out, k+"="+v)
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
		fmt.Fprintf(w, "warning: %s: not applied yet: %s (see docs/devcontainers.md)\n", file, strings.Join(later, ", "))
	}
	if len(unknown) > 0 {
		fmt.Fprintf(w, "warning: %s: unknown properties, ignored: %s (check the spelling against containers.dev)\n", file, strings.Join(dc.UnknownProperties(), ", "))
	}
}

package codepod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/devcontainer"
	"github.com/codepod-dev/codepod/devcontainer/oci"
)

// DevcontainerOptions tune CreateFromDevcontainer.
type DevcontainerOptions struct {
	// Config chooses the devcontainer.json inside the project folder when
	// it has several (e.g. ".devcontainer/python/devcontainer.json").
	Config string
	// SkipGitignored leaves what the project's .gitignore lists out of the
	// workspace copy.
	SkipGitignored bool
	// CreateOptions are applied on top of the config (Name, CPU, Memory,
	// Env, Labels, TTL, Network, WaitTimeout…); their Env wins over the
	// config's containerEnv and remoteEnv.
	CreateOptions
}

// CreateFromDevcontainer creates a sandbox from a project's
// devcontainer.json the way `codepod sandbox create --devcontainer` does:
// path is a project folder (searched like the reference CLI) or a config
// file. It parses the config (JSONC), substitutes its variables, checks it
// against the default policy, fetches OCI features from their registry
// (cached in ~/.cache/codepod/features, pinned by devcontainer-lock.json),
// uploads the build context (with the local and fetched features) and the
// project folder when the server does not have them
// yet, creates the sandbox with its build and workspace, and waits for it
// to run (opts.WaitTimeout; the build counts, so give it time).
func (c *Client) CreateFromDevcontainer(ctx context.Context, path string, opts *DevcontainerOptions) (*Sandbox, error) {
	if opts == nil {
		opts = &DevcontainerOptions{}
	}
	file, err := findConfig(path, opts.Config)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("codepod: %w", err)
	}
	raw, err := devcontainer.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("codepod: %s: %w", file, err)
	}
	local := devcontainer.WorkspaceFolder(file)
	abs, _ := filepath.Abs(file)
	dc, err := raw.Substitute(devcontainer.Vars{
		LocalWorkspaceFolder: local, LocalEnv: os.LookupEnv,
		DevcontainerID: devcontainer.DevcontainerID(devcontainer.IDLabels(local, abs)),
	})
	if err != nil {
		return nil, fmt.Errorf("codepod: %s: %w", file, err)
	}
	if err := (devcontainer.Policy{}).Check(dc); err != nil {
		return nil, fmt.Errorf("codepod: %s: %w", file, err)
	}
	if dc.Image == "" && dc.Build == nil {
		return nil, fmt.Errorf("codepod: %s: no \"image\" and no \"build\": name an image or a Dockerfile", file)
	}
	req := opts.CreateOptions.request()
	if req.Image == nil && dc.Build == nil {
		req.Image = &dc.Image
	}
	env := map[string]string{}
	for _, m := range []map[string]string{dc.ContainerEnv, dc.RemoteEnv} {
		for k, v := range m {
			if !strings.Contains(v, "${containerEnv:") { // only the container can resolve it
				env[k] = v
			}
		}
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	req.Env = mapIf(env)

	plan, err := devcontainer.PlanBuildContext(ctx, file, dc, devcontainer.Policy{}, &oci.FeatureFetcher{}) // OCI features: ~/.cache/codepod/features
	if err != nil {
		return nil, fmt.Errorf("codepod: %s: %w", file, err)
	}
	if plan != nil {
		defer plan.Context.Remove()
		if err := c.uploadBlob(ctx, plan.Context); err != nil {
			return nil, err
		}
		req.Build, req.Image = buildRequest(plan), nil
	}
	ws, err := devcontainer.PackWorkspace(local, opts.SkipGitignored)
	if err != nil {
		return nil, fmt.Errorf("codepod: pack the workspace %s: %w", local, err)
	}
	defer ws.Remove()
	if err := c.uploadBlob(ctx, ws); err != nil {
		return nil, err
	}
	req.Workspace = &client.WorkspaceRequest{Archive: ws.Digest, Folder: dc.ContainerWorkspace(local)}

	info, err := decode[SandboxInfo](c.check(c.api.CreateSandbox(ctx, nil, req)))
	if err != nil {
		return nil, err
	}
	s := &Sandbox{c: c, id: info.Id, info: *info}
	if opts.WaitTimeout < 0 {
		return s, nil
	}
	if err := s.WaitRunning(ctx, opts.WaitTimeout); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func findConfig(path, config string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("codepod: devcontainer: %w", err)
	}
	if !fi.IsDir() {
		return path, nil
	}
	file, err := devcontainer.Find(path, config)
	if err != nil {
		return "", fmt.Errorf("codepod: devcontainer: %w", err)
	}
	return file, nil
}

func buildRequest(plan *devcontainer.BuildPlan) *client.BuildRequest {
	b := &client.BuildRequest{Context: plan.Context.Digest, Dockerfile: ptrIf(plan.Dockerfile), Target: ptrIf(plan.Target), Image: ptrIf(plan.Image)}
	b.Args = mapIf(plan.Args)
	if len(plan.CacheFrom) > 0 {
		b.CacheFrom = &plan.CacheFrom
	}
	if len(plan.Features) > 0 {
		fs := make([]client.BuildFeature, 0, len(plan.Features))
		for _, f := range plan.Features {
			fs = append(fs, client.BuildFeature{Id: f.ID, Dir: f.Dir, Env: mapIf(f.Env), ContainerEnv: mapIf(f.ContainerEnv)})
		}
		b.Features = &fs
	}
	return b
}

// uploadBlob uploads a unless the server has it (HEAD).
func (c *Client) uploadBlob(ctx context.Context, a *devcontainer.Archive) error {
	resp, err := c.api.HeadBlob(ctx, a.Digest)
	if err != nil {
		return c.transportError(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	f, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	return drain(c.check(c.api.UploadBlobWithBody(ctx, a.Digest, "application/x-tar", f)))
}

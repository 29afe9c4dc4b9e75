package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/devcontainer"
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
	// decided by the server's policy, which names them when it refuses
	"privileged": true, "capAdd": true, "securityOpt": true, "runArgs": true, "initializeCommand": true,
}

// applyDevcontainer reads the devcontainer.json at path (a file, or a
// project folder searched like the reference CLI, config choosing among
// several), refuses it early when the default policy does (the server
// decides for good), and sets the image, containerEnv and the
// devcontainer settings (devcontainer.ToSpec) unless flags already did.
// Warnings go to w.
func applyDevcontainer(w io.Writer, path, config string, image *string, env *[]string, req *client.CreateSandboxRequest) error {
	file, err := findDevcontainer(path, config)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("--devcontainer: %w", err)
	}
	raw, err := devcontainer.Parse(b)
	if err != nil {
		return fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	local := devcontainer.WorkspaceFolder(file)
	abs, _ := filepath.Abs(file)
	dc, err := raw.Substitute(devcontainer.Vars{
		LocalWorkspaceFolder: local,
		LocalEnv:             os.LookupEnv,
		DevcontainerID:       devcontainer.DevcontainerID(devcontainer.IDLabels(local, abs)),
	})
	if err != nil {
		return fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	if err := (devcontainer.Policy{}).Check(dc); err != nil {
		return fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	if dc.Image == "" {
		switch {
		case dc.Build != nil:
			return fmt.Errorf("--devcontainer %s: \"build\" is not supported yet, only \"image\" is supported: build the image from its Dockerfile and name it in \"image\"", file)
		case len(dc.DockerComposeFile) > 0:
			return fmt.Errorf("--devcontainer %s: \"dockerComposeFile\" is not supported: only \"image\" is; name the service's image in \"image\"", file)
		}
		return fmt.Errorf("--devcontainer %s: no \"image\"", file)
	}
	if *image == "" {
		*image = dc.Image
	}
	spec, err := devcontainer.ToSpec(dc)
	if err != nil {
		return fmt.Errorf("--devcontainer %s: %w", file, err)
	}
	m, err := toMap(spec)
	if err != nil {
		return err
	}
	req.Devcontainer = &m
	*env = append(devcontainerEnv(dc), *env...) // flags come last and win
	warnNotApplied(w, file, dc)
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

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
)

// devcontainerFile is the part of devcontainer.json a sandbox can use today:
// a prebuilt image and its environment. Builds (build.dockerfile) and
// features need an image build step CodePod does not have yet.
type devcontainerFile struct {
	Image        string            `json:"image"`
	ContainerEnv map[string]string `json:"containerEnv"`
	RemoteEnv    map[string]string `json:"remoteEnv"`
	Build        json.RawMessage   `json:"build"`
}

var jsoncComments = regexp.MustCompile(`(?m)^\s*//.*$|/\*[\s\S]*?\*/`)

// applyDevcontainer reads a devcontainer.json (JSON with comments) and sets
// the image and environment it names, unless flags already did.
func applyDevcontainer(path string, image *string, env *[]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--devcontainer: %w", err)
	}
	var dc devcontainerFile
	if err := json.Unmarshal(jsoncComments.ReplaceAll(b, nil), &dc); err != nil {
		return fmt.Errorf("--devcontainer %s: not valid JSON: %w", path, err)
	}
	if dc.Image == "" {
		if len(dc.Build) > 0 {
			return fmt.Errorf("--devcontainer %s: only \"image\" is supported; build an image from its Dockerfile and name it there", path)
		}
		return fmt.Errorf("--devcontainer %s: no \"image\"", path)
	}
	if *image == "" {
		*image = dc.Image
	}
	var extra []string
	for _, m := range []map[string]string{dc.ContainerEnv, dc.RemoteEnv} {
		for k, v := range m {
			extra = append(extra, k+"="+v)
		}
	}
	sort.Strings(extra)
	*env = append(extra, *env...) // flags come last and win
	return nil
}

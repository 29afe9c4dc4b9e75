package devcontainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Vars are the values ${...} variables take. Substitute fills
// ContainerWorkspaceFolder from the config when it is empty.
type Vars struct {
	LocalWorkspaceFolder     string                      // the project folder on the user's machine
	ContainerWorkspaceFolder string                      // workspaceFolder, default /workspaces/<basename>
	LocalEnv                 func(string) (string, bool) // the user's environment (os.LookupEnv)
	DevcontainerID           string                      // see DevcontainerID
}

var variable = regexp.MustCompile(`\$\{([^}]*)\}`)

// Expand replaces the variables in s. ${containerEnv:VAR} is left as
// written: only the container knows its environment, so the runner
// resolves it there. Unknown variables are left as written too, as the
// reference CLI does.
func (v Vars) Expand(s string) string {
	return variable.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		kind, arg, hasArg := strings.Cut(name, ":")
		switch {
		case name == "localWorkspaceFolder":
			return v.LocalWorkspaceFolder
		case name == "localWorkspaceFolderBasename":
			return filepath.Base(v.LocalWorkspaceFolder)
		case name == "containerWorkspaceFolder":
			return v.ContainerWorkspaceFolder
		case name == "containerWorkspaceFolderBasename":
			return path.Base(v.ContainerWorkspaceFolder)
		case name == "devcontainerId":
			return v.DevcontainerID
		case hasArg && (kind == "localEnv" || kind == "env"):
			key, def, _ := strings.Cut(arg, ":")
			if v.LocalEnv != nil {
				if val, ok := v.LocalEnv(key); ok {
					return val
				}
			}
			return def
		}
		return m
	})
}

// Substitute returns a copy of c with the variables in every string value
// replaced (property names are left alone). ContainerWorkspaceFolder
// defaults to c's workspaceFolder, itself expanded with the local
// variables, else /workspaces/<basename of the local folder>.
func (c *Config) Substitute(v Vars) (*Config, error) {
	if v.ContainerWorkspaceFolder == "" {
		v.ContainerWorkspaceFolder = v.Expand(c.WorkspaceFolder)
		if v.ContainerWorkspaceFolder == "" {
			v.ContainerWorkspaceFolder = "/workspaces/" + filepath.Base(v.LocalWorkspaceFolder)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(c.std))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v.expandTree(tree))
	if err != nil {
		return nil, err
	}
	s, err := decode(b)
	if err != nil {
		return nil, err
	}
	s.present = c.present // the re-encoded object lost the file's order
	return s, nil
}

func (v Vars) expandTree(x any) any {
	switch x := x.(type) {
	case string:
		return v.Expand(x)
	case []any:
		for i := range x {
			x[i] = v.expandTree(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = v.expandTree(x[k])
		}
	}
	return x
}

// ContainerWorkspace is the folder the project lives in inside the
// container: workspaceFolder, else /workspaces/<basename of local>.
func (c *Config) ContainerWorkspace(local string) string {
	if c.WorkspaceFolder != "" {
		return c.WorkspaceFolder
	}
	return "/workspaces/" + filepath.Base(local)
}

// IDLabels are the labels the reference CLI identifies a dev container by
// when none are given with --id-label: the local project folder and the
// config file, both absolute paths.
func IDLabels(localWorkspaceFolder, configFile string) map[string]string {
	return map[string]string{
		"devcontainer.local_folder": localWorkspaceFolder,
		"devcontainer.config_file":  configFile,
	}
}

// DevcontainerID computes ${devcontainerId} as the spec and the reference
// CLI do: the labels as compact JSON with sorted keys, hashed with SHA-256,
// written in base 32 (digits 0-9a-v) and left-padded with '0' to 52
// characters. The same labels give the same id on every machine.
func DevcontainerID(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(jsString(k))
		buf.WriteByte(':')
		buf.Write(jsString(labels[k]))
	}
	buf.WriteByte('}')
	sum := sha256.Sum256(buf.Bytes())
	id := new(big.Int).SetBytes(sum[:]).Text(32)
	return strings.Repeat("0", 52-len(id)) + id
}

// jsString encodes s as JavaScript's JSON.stringify does: unlike
// encoding/json it does not escape <, >, & or U+2028/U+2029.
func jsString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte(`\u2028`), []byte("\u2028"))
	return bytes.ReplaceAll(b, []byte(`\u2029`), []byte("\u2029"))
}

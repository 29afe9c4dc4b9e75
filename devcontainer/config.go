package devcontainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/tailscale/hujson"
)

// Config is a parsed devcontainer.json. Properties CodePod knows have typed
// fields; every other top-level property is kept in Unknown (and named by
// UnknownProperties) so that callers report it instead of dropping it.
type Config struct {
	Name string `json:"name,omitempty"`

	// Image or Build (or DockerComposeFile) says where the container comes from.
	Image             string     `json:"image,omitempty"`
	Build             *Build     `json:"build,omitempty"`
	DockerComposeFile StringList `json:"dockerComposeFile,omitempty"`
	Service           string     `json:"service,omitempty"`
	RunServices       []string   `json:"runServices,omitempty"`
	Features          Features   `json:"features,omitempty"`
	FeatureOrder      []string   `json:"overrideFeatureInstallOrder,omitempty"`

	ContainerEnv        map[string]string `json:"containerEnv,omitempty"`
	RemoteEnv           map[string]string `json:"remoteEnv,omitempty"`
	RemoteUser          string            `json:"remoteUser,omitempty"`
	ContainerUser       string            `json:"containerUser,omitempty"`
	UpdateRemoteUserUID *bool             `json:"updateRemoteUserUID,omitempty"`
	UserEnvProbe        string            `json:"userEnvProbe,omitempty"`

	WorkspaceFolder string `json:"workspaceFolder,omitempty"`
	WorkspaceMount  string `json:"workspaceMount,omitempty"`

	InitializeCommand    *Command `json:"initializeCommand,omitempty"`
	OnCreateCommand      *Command `json:"onCreateCommand,omitempty"`
	UpdateContentCommand *Command `json:"updateContentCommand,omitempty"`
	PostCreateCommand    *Command `json:"postCreateCommand,omitempty"`
	PostStartCommand     *Command `json:"postStartCommand,omitempty"`
	PostAttachCommand    *Command `json:"postAttachCommand,omitempty"`
	WaitFor              string   `json:"waitFor,omitempty"`

	ForwardPorts         []Port                    `json:"forwardPorts,omitempty"`
	AppPort              json.RawMessage           `json:"appPort,omitempty"`
	PortsAttributes      map[string]PortAttributes `json:"portsAttributes,omitempty"`
	OtherPortsAttributes *PortAttributes           `json:"otherPortsAttributes,omitempty"`

	HostRequirements *HostRequirements `json:"hostRequirements,omitempty"`
	OverrideCommand  *bool             `json:"overrideCommand,omitempty"`
	ShutdownAction   string            `json:"shutdownAction,omitempty"`
	Mounts           []Mount           `json:"mounts,omitempty"`
	Init             *bool             `json:"init,omitempty"`
	Privileged       *bool             `json:"privileged,omitempty"`
	CapAdd           []string          `json:"capAdd,omitempty"`
	SecurityOpt      []string          `json:"securityOpt,omitempty"`
	RunArgs          []string          `json:"runArgs,omitempty"`

	// Customizations belong to tools (VS Code, Codespaces); kept as written.
	Customizations map[string]json.RawMessage `json:"customizations,omitempty"`

	// Unknown holds top-level properties this package has no field for.
	Unknown map[string]json.RawMessage `json:"-"`

	present []string // top-level properties as written, in file order
	std     []byte   // the file as standard JSON, before substitution
}

// Build is the "build" property: an image built from a Dockerfile.
type Build struct {
	Dockerfile string            `json:"dockerfile,omitempty"`
	Context    string            `json:"context,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Target     string            `json:"target,omitempty"`
	CacheFrom  StringList        `json:"cacheFrom,omitempty"`
	Options    []string          `json:"options,omitempty"`
}

// HostRequirements are the minimum resources the project asks for.
// Memory and Storage are strings such as "4gb", as the spec writes them.
type HostRequirements struct {
	CPUs    int             `json:"cpus,omitempty"`
	Memory  string          `json:"memory,omitempty"`
	Storage string          `json:"storage,omitempty"`
	GPU     json.RawMessage `json:"gpu,omitempty"`
}

// PortAttributes describe a forwarded port (portsAttributes values).
type PortAttributes struct {
	Label            string `json:"label,omitempty"`
	OnAutoForward    string `json:"onAutoForward,omitempty"`
	Protocol         string `json:"protocol,omitempty"`
	ElevateIfNeeded  bool   `json:"elevateIfNeeded,omitempty"`
	RequireLocalPort bool   `json:"requireLocalPort,omitempty"`
}

// StringList is a property written either as one string or as an array.
type StringList []string

// UnmarshalJSON accepts "x" and ["x", "y"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	if kind(b) == "null" {
		*l = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = StringList{s}
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("want a string or an array of strings, got %s", kind(b))
	}
	*l = a
	return nil
}

// Parse reads devcontainer.json text: JSON with // and /* */ comments and
// trailing commas (JSONC, as VS Code writes it). Strings are never touched,
// so "/opt/*/bin" stays intact. Variables are left as written; call
// Substitute to replace them.
func Parse(b []byte) (*Config, error) {
	v, err := hujson.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON with comments: %w", err)
	}
	v.Standardize()
	std := v.Pack()
	return decode(std)
}

func decode(std []byte) (*Config, error) {
	keys, err := topLevelKeys(std)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(std, &all); err != nil {
		return nil, err
	}
	c := &Config{std: std, present: keys}
	v := reflect.ValueOf(c).Elem()
	for _, k := range keys {
		raw := all[k]
		i, ok := fieldIndex[k]
		if !ok {
			if !legacyProperties[k] {
				if c.Unknown == nil {
					c.Unknown = map[string]json.RawMessage{}
				}
				c.Unknown[k] = raw
			}
			continue
		}
		if err := json.Unmarshal(raw, v.Field(i).Addr().Interface()); err != nil {
			return nil, fmt.Errorf("%q: %w", k, plain(err))
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.foldLegacy(all)
	return c, nil
}

// topLevelKeys returns the object's keys in file order, or an error when
// the document is not an object.
func topLevelKeys(std []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(std))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("devcontainer.json must be a JSON object")
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if k := t.(string); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// Properties returns the top-level properties the file sets, in file order.
func (c *Config) Properties() []string { return append([]string(nil), c.present...) }

// UnknownProperties names the top-level properties this package does not
// know, sorted.
func (c *Config) UnknownProperties() []string {
	var out []string
	for k := range c.Unknown {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fieldIndex maps the JSON names of Config's fields to their index.
var fieldIndex = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}()

// legacyProperties are older spellings the reference CLI still reads:
// top-level "dockerFile" and "context" mean build.dockerfile and build.context.
var legacyProperties = map[string]bool{"dockerFile": true, "context": true}

func (c *Config) foldLegacy(all map[string]json.RawMessage) {
	var df, ctx string
	json.Unmarshal(all["dockerFile"], &df)
	json.Unmarshal(all["context"], &ctx)
	if df == "" && ctx == "" {
		return
	}
	if c.Build == nil {
		c.Build = &Build{}
	}
	if c.Build.Dockerfile == "" {
		c.Build.Dockerfile = df
	}
	if c.Build.Context == "" {
		c.Build.Context = ctx
	}
}

func (c *Config) validate() error {
	enums := []struct {
		prop, val string
		ok        []string
	}{
		{"waitFor", c.WaitFor, []string{"initializeCommand", "onCreateCommand", "updateContentCommand", "postCreateCommand", "postStartCommand"}},
		{"shutdownAction", c.ShutdownAction, []string{"none", "stopContainer", "stopCompose"}},
		{"userEnvProbe", c.UserEnvProbe, []string{"none", "loginShell", "loginInteractiveShell", "interactiveShell"}},
	}
	for _, e := range enums {
		if e.val != "" && !contains(e.ok, e.val) {
			return fmt.Errorf("%q: %q is not one of %s", e.prop, e.val, strings.Join(e.ok, ", "))
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// plain rewords encoding/json's type errors without Go type names.
func plain(err error) error {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		where := ""
		if te.Field != "" {
			where = " at " + te.Field
		}
		return fmt.Errorf("want %s%s, got a JSON %s", jsonType(te.Type), where, te.Value)
	}
	return err
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// kind names the JSON type of b for error messages.
func kind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

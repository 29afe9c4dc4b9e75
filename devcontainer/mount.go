package devcontainer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Mount is one "mounts" entry, written either as Docker's --mount string
// ("type=volume,source=cache,target=/cache") or as an object
// ({"type": "volume", "source": "cache", "target": "/cache"}).
type Mount struct {
	Type     string `json:"type,omitempty"` // bind, volume or tmpfs; Docker's default is volume
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readonly,omitempty"`
	// Options are the string form's other key=value pairs, kept as written.
	Options map[string]string `json:"-"`
}

// UnmarshalJSON reads the string or the object form.
func (m *Mount) UnmarshalJSON(b []byte) error {
	*m = Mount{}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return m.parseString(s)
	}
	type plain Mount
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("a mount is a string or an object with type, source and target, got %s", kind(b))
	}
	*m = Mount(p)
	return m.check()
}

func (m *Mount) parseString(s string) error {
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(k) {
		case "type":
			m.Type = v
		case "source", "src":
			m.Source = v
		case "target", "destination", "dst":
			m.Target = v
		case "readonly", "ro":
			m.ReadOnly = v == "" || v == "true" || v == "1"
		case "":
		default:
			if m.Options == nil {
				m.Options = map[string]string{}
			}
			m.Options[k] = v
		}
	}
	return m.check()
}

func (m *Mount) check() error {
	if m.Target == "" {
		return fmt.Errorf("a mount needs a target")
	}
	switch m.Type {
	case "", "bind", "volume", "tmpfs":
		return nil
	}
	return fmt.Errorf("mount type %q: want bind, volume or tmpfs", m.Type)
}

// HostBind reports whether the mount exposes a path of the host machine.
func (m Mount) HostBind() bool { return m.Type == "bind" }

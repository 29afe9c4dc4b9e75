package devcontainer

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Features maps a feature reference ("./local-feature",
// "ghcr.io/devcontainers/features/go:1") to its options.
type Features map[string]FeatureOptions

// FeatureOptions are a feature's options as strings, the way they reach
// the feature's install.sh (as upper-cased environment variables). The
// shorthand "ghcr.io/x/y:1": "1.21" means {"version": "1.21"}.
type FeatureOptions map[string]string

// UnmarshalJSON accepts a version string or an object of string, boolean
// and number options.
func (o *FeatureOptions) UnmarshalJSON(b []byte) error {
	if kind(b) == "null" {
		*o = FeatureOptions{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*o = FeatureOptions{"version": s}
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("feature options are an object or a version string, got %s", kind(b))
	}
	*o = FeatureOptions{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			(*o)[k] = v
		case bool:
			(*o)[k] = strconv.FormatBool(v)
		case float64:
			(*o)[k] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return fmt.Errorf("option %q: want a string, boolean or number", k)
		}
	}
	return nil
}

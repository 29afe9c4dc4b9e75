package store

import (
	"encoding/json"

	"github.com/codepod-dev/codepod"
)

// Maps and structs are stored as JSON (bun encodes them): text on SQLite,
// jsonb on PostgreSQL. Free-form JSON (job payloads and results) is kept as
// text in the row structs, because bun would write a []byte as a blob.

// nonNil returns m, or an empty map for nil (stored as {} rather than null).
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// nilIfEmpty returns nil for an empty map, so reads give what Go code
// usually writes.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// rawJSON checks that b is JSON and returns it as text; nil and empty give "".
func rawJSON(b []byte, what string) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	if !json.Valid(b) {
		return "", codepod.Errorf(codepod.EINVALID, "%s must be valid JSON", what)
	}
	return string(b), nil
}

// jsonBytes is the inverse of rawJSON.
func jsonBytes(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

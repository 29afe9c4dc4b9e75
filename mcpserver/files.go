package mcpserver

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"unicode/utf8"
)

type readIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's id or name"`
	Path    string `json:"path" jsonschema:"the file; relative paths start in the home"`
}

type readOut struct {
	Path      string `json:"path"`
	Content   string `json:"content"`
	Encoding  string `json:"encoding" jsonschema:"utf-8, or base64 when the file is not text"`
	Truncated bool   `json:"truncated,omitempty" jsonschema:"the file is longer than what is returned (1 MiB by default)"`
}

func (h *Handler) readFile(ctx context.Context, who caller, in readIn) (readOut, error) {
	resp, err := h.do(ctx, who, restCall{Method: http.MethodGet, Path: sandboxPath(in.Sandbox, "/files"), Query: url.Values{"path": {in.Path}}})
	if err != nil {
		return readOut{}, err
	}
	defer resp.Body.Close() // before the end: the download stops
	b, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.ReadFileBytes+1))
	if err != nil {
		return readOut{}, fmt.Errorf("read %s: %w", in.Path, err)
	}
	out := readOut{Path: in.Path, Encoding: "utf-8"}
	if int64(len(b)) > h.cfg.ReadFileBytes {
		b, out.Truncated = b[:h.cfg.ReadFileBytes], true
	}
	if s := string(b); utf8.ValidString(s) || out.Truncated && utf8.ValidString(trimPartialRune(s)) {
		out.Content = s
		if out.Truncated {
			out.Content = trimPartialRune(s)
		}
		return out, nil
	}
	out.Content, out.Encoding = base64.StdEncoding.EncodeToString(b), "base64"
	return out, nil
}

// trimPartialRune drops an incomplete UTF-8 sequence a cut left at the end.
func trimPartialRune(s string) string {
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			return s
		}
		s = s[:len(s)-1]
	}
	return s
}

type writeIn struct {
	Sandbox  string `json:"sandbox" jsonschema:"the sandbox's id or name"`
	Path     string `json:"path" jsonschema:"the file; relative paths start in the home"`
	Content  string `json:"content" jsonschema:"what to write"`
	Encoding string `json:"encoding,omitempty" jsonschema:"utf-8 (the default) or base64"`
	Mode     string `json:"mode,omitempty" jsonschema:"permission bits in octal, e.g. 0755 (default 0644 for a new file)"`
}

type writeOut struct {
	Path string `json:"path"`
	Size int64  `json:"size" jsonschema:"bytes written"`
}

func (h *Handler) writeFile(ctx context.Context, who caller, in writeIn) (writeOut, error) {
	data := []byte(in.Content)
	switch in.Encoding {
	case "", "utf-8":
	case "base64":
		var err error
		if data, err = base64.StdEncoding.DecodeString(in.Content); err != nil {
			return writeOut{}, fmt.Errorf("content is not base64: %w", err)
		}
	default:
		return writeOut{}, fmt.Errorf("encoding %q: give utf-8 or base64", in.Encoding)
	}
	q := url.Values{"path": {in.Path}}
	if in.Mode != "" {
		q.Set("mode", in.Mode)
	}
	var out writeOut
	err := h.doJSON(ctx, who, restCall{Method: http.MethodPut, Path: sandboxPath(in.Sandbox, "/files"), Query: q,
		Raw: data, Type: "application/octet-stream"}, &out)
	return out, err
}

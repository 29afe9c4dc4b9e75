package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// outputFormat is the -o flag of list and get commands.
type outputFormat string

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "table|json|yaml" }
func (o *outputFormat) Set(s string) error {
	if s != "table" && s != "json" && s != "yaml" {
		return fmt.Errorf("output format %q: use table, json or yaml", s)
	}
	*o = outputFormat(s)
	return nil
}

// wideFormat is outputFormat plus "wide": a table with more columns.
type wideFormat string

func (o *wideFormat) String() string { return string(*o) }
func (o *wideFormat) Type() string   { return "table|wide|json|yaml" }
func (o *wideFormat) Set(s string) error {
	if s != "table" && s != "wide" && s != "json" && s != "yaml" {
		return fmt.Errorf("output format %q: use table, wide, json or yaml", s)
	}
	*o = wideFormat(s)
	return nil
}

func (o wideFormat) write(w io.Writer, v any) (bool, error) { return outputFormat(o).write(w, v) }

// write writes v as JSON or YAML and reports whether the format was one of
// them (false: the caller prints its table).
func (o outputFormat) write(w io.Writer, v any) (bool, error) {
	switch o {
	case "json":
		return true, writeJSON(w, v)
	case "yaml":
		return true, writeYAML(w, v)
	}
	return false, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML writes v as block-style YAML with the field names and order of
// its JSON (JSON is YAML, so the JSON text parses into a YAML node tree).
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("render YAML: %w", err)
	}
	blockStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return fmt.Errorf("render YAML: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// blockStyle drops the flow style JSON parsed into, and the quotes of
// strings that need none.
func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle | yaml.DoubleQuotedStyle
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// table writes rows under a header, aligned with tabs.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != nil {
		rows = append([][]string{header}, rows...)
	}
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// firstColumn writes each row's first cell on a line of its own (-q).
func firstColumn(w io.Writer, rows [][]string) error {
	for _, r := range rows {
		if len(r) > 0 {
			if _, err := fmt.Fprintln(w, r[0]); err != nil {
				return err
			}
		}
	}
	return nil
}

package main

import (
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// pyKeywords may not be attribute names; such properties get a trailing _.
var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

func pyIdent(name string) string {
	id := strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	if id == "" || id[0] >= '0' && id[0] <= '9' || pyKeywords[id] {
		id += "_"
	}
	return id
}

// pyString is a Python string literal (JSON's escapes are valid Python).
func pyString(s string) string { return strconv.Quote(s) }

// docstring renders text as an indented docstring.
func docstring(text, indent string) string {
	text = strings.ReplaceAll(strings.TrimSpace(text), `\`, `\\`)
	text = strings.ReplaceAll(text, `"""`, `\"\"\"`)
	lines := strings.Split(text, "\n")
	if len(lines) == 1 {
		if strings.HasSuffix(text, `"`) {
			text += " "
		}
		return indent + `"""` + text + `"""`
	}
	var b strings.Builder
	b.WriteString(indent + `"""` + lines[0] + "\n")
	for _, l := range lines[1:] {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(indent + l + "\n")
	}
	b.WriteString(indent + `"""`)
	return b.String()
}

// operation is one API operation for the table.
type operation struct{ id, method, path, summary string }

func (g *generator) operations(doc *openapi3.T) {
	var ops []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID != "" {
				ops = append(ops, operation{op.OperationID, method, path, op.Summary})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	g.p("")
	g.p("")
	g.p("@dataclass(frozen=True)")
	g.p("class Operation:")
	g.p(`    """One operation of the API: its HTTP method and path template."""`)
	g.p("")
	g.p("    method: str")
	g.p("    path: str")
	g.p("    summary: str")
	g.p("")
	g.p("")
	g.p("OPERATIONS: dict[str, Operation] = {")
	for _, op := range ops {
		g.p("    %s: Operation(%s, %s, %s),", pyString(op.id), pyString(op.method), pyString(op.path), pyString(op.summary))
	}
	g.p("}")
	g.p(`"""Every operation of the API, by operationId."""`)
}

package main

import (
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// pyKind is how one schema maps to Python: its type annotation and the
// expressions that convert a JSON value to it and back.
type pyKind struct {
	typ  string
	from func(x string) string // JSON value → Python value
	to   func(x string) string // Python value → JSON value
}

func identity(x string) string { return x }

// kindOf maps a schema (reference or inline) to Python; enumAlias names the
// Literal alias of an inline enum.
func kindOf(ref *openapi3.SchemaRef, enumAlias string) pyKind {
	if ref.Ref != "" {
		name := ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
		return pyKind{typ: name,
			from: func(x string) string { return name + ".from_dict(" + x + ")" },
			to:   func(x string) string { return x + ".to_dict()" }}
	}
	s := ref.Value
	switch {
	case len(s.Enum) > 0 && enumAlias != "":
		return pyKind{typ: enumAlias, from: identity, to: identity}
	case s.Type.Is("string") && s.Format == "date-time":
		return pyKind{typ: "datetime.datetime",
			from: func(x string) string { return "_parse_time(" + x + ")" },
			to:   func(x string) string { return "_format_time(" + x + ")" }}
	case s.Type.Is("string"):
		return pyKind{typ: "str", from: identity, to: identity}
	case s.Type.Is("integer"):
		return pyKind{typ: "int", from: func(x string) string { return "int(" + x + ")" }, to: identity}
	case s.Type.Is("number"):
		return pyKind{typ: "float", from: func(x string) string { return "float(" + x + ")" }, to: identity}
	case s.Type.Is("boolean"):
		return pyKind{typ: "bool", from: func(x string) string { return "bool(" + x + ")" }, to: identity}
	case s.Type.Is("array") && s.Items != nil:
		return listKind(kindOf(s.Items, ""))
	case s.Type.Is("object") && len(s.Properties) == 0 && s.AdditionalProperties.Schema != nil:
		return dictKind(kindOf(s.AdditionalProperties.Schema, ""))
	}
	return pyKind{typ: "Any", from: identity, to: identity}
}

func listKind(item pyKind) pyKind {
	return pyKind{typ: "list[" + item.typ + "]",
		from: func(x string) string { return "[" + item.from("v") + " for v in " + x + "]" },
		to:   func(x string) string { return "[" + item.to("v") + " for v in " + x + "]" }}
}

func dictKind(val pyKind) pyKind {
	return pyKind{typ: "dict[str, " + val.typ + "]",
		from: func(x string) string { return "{k: " + val.from("v") + " for k, v in " + x + ".items()}" },
		to:   func(x string) string { return "{k: " + val.to("v") + " for k, v in " + x + ".items()}" }}
}

// field is one property of a model.
type field struct {
	json, attr string
	kind       pyKind
	optional   bool // may be absent (or null): defaults to None
	doc        string
}

func fields(name string, s *openapi3.Schema) []field {
	var out []field
	for _, prop := range sortedKeys(s.Properties) {
		ref := s.Properties[prop]
		alias := ""
		if ref.Ref == "" && len(ref.Value.Enum) > 0 {
			alias = enumName(name, prop)
		}
		required := contains(s.Required, prop)
		f := field{json: prop, attr: pyIdent(prop), kind: kindOf(ref, alias), doc: ref.Value.Description,
			optional: !required || ref.Value.Nullable}
		out = append(out, f)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// model writes one dataclass.
func (g *generator) model(name string, s *openapi3.Schema) error {
	if !s.Type.Is("object") {
		return fmt.Errorf("only object schemas become models, this one is %v", s.Type.Slice())
	}
	fs := fields(name, s)
	g.p("")
	g.p("")
	g.p("@dataclass(kw_only=True)")
	g.p("class %s:", name)
	doc := s.Description
	if doc == "" {
		doc = "The " + name + " schema of the API."
	}
	g.p("%s", docstring(doc, "    "))
	for _, f := range fs {
		g.p("")
		if f.optional {
			g.p("    %s: %s | None = None", f.attr, f.kind.typ)
		} else {
			g.p("    %s: %s", f.attr, f.kind.typ)
		}
		if f.doc != "" {
			g.p("%s", docstring(f.doc, "    "))
		}
	}
	g.fromDict(name, fs)
	g.toDict(fs)
	return nil
}

func (g *generator) fromDict(name string, fs []field) {
	g.p("")
	g.p("    @classmethod")
	g.p("    def from_dict(cls, d: dict[str, Any]) -> %s:", name)
	g.p(`        """Builds the model from its JSON object."""`)
	if len(fs) == 0 {
		g.p("        return cls()")
		return
	}
	g.p("        return cls(")
	for _, f := range fs {
		key := pyString(f.json)
		if f.optional {
			g.p("            %s=%s if d.get(%s) is not None else None,", f.attr, f.kind.from("d["+key+"]"), key)
		} else {
			g.p("            %s=%s,", f.attr, f.kind.from("d["+key+"]"))
		}
	}
	g.p("        )")
}

func (g *generator) toDict(fs []field) {
	g.p("")
	g.p("    def to_dict(self) -> dict[str, Any]:")
	g.p(`        """Returns the JSON object, without optional fields that are None."""`)
	g.p("        out: dict[str, Any] = {}")
	for _, f := range fs {
		key := pyString(f.json)
		val := f.kind.to("self." + f.attr)
		if f.optional {
			g.p("        if self.%s is not None:", f.attr)
			g.p("            out[%s] = %s", key, val)
		} else {
			g.p("        out[%s] = %s", key, val)
		}
	}
	g.p("        return out")
}

package api

import (
	"bytes"
	"html/template"
	"net/http"
	"sort"

	"github.com/danielgtaylor/huma/v2"
	"github.com/yuin/goldmark"
)

// docsPage is a self-contained HTML list of the operations (no CDN: the
// page must work offline).
var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CodePod API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:.6rem 0}.m{display:inline-block;width:4.5rem;font:bold 13px monospace}
code{font-size:14px;background:#f0f0f0;padding:0 .2em;border-radius:3px}.d{color:#555;margin-left:4.7rem}.d p{margin:.2rem 0}
@media (prefers-color-scheme: dark){body{background:#0b0f14;color:#e6edf3}h2{border-color:#30363d}.d{color:#9ba7b4}code{background:#1f2630}a{color:#7aa2f7}}.auth{color:#a60;font-size:13px}
</style></head><body>
<h1>CodePod API</h1>
{{.Description}}
<p>Machine-readable: <a href="/openapi.yaml">/openapi.yaml</a> · <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.0.3).</p>
{{range .Groups}}<h2 id="{{.Tag}}">{{.Tag}}</h2>{{.Description}}
{{range .Ops}}<div class="op"><span class="m">{{.Method}}</span><code>{{.Path}}</code> — {{.Summary}}
{{if .Auth}}<span class="auth">[{{.Auth}}]</span>{{end}}
{{if .Description}}<div class="d">{{.Description}}</div>{{end}}</div>
{{end}}{{end}}
</body></html>`))

type docsOp struct {
	Method, Path, Summary, Auth string
	Description                 template.HTML
}

type docsGroup struct {
	Tag         string
	Description template.HTML
	Ops         []docsOp
}

// markdown renders the spec's Markdown (descriptions use `code`, lists and
// links) as HTML. Raw HTML in the text is not passed through (goldmark's
// default), so the result is safe to embed.
func markdown(text string) template.HTML {
	var b bytes.Buffer
	if err := goldmark.Convert([]byte(text), &b); err != nil {
		return template.HTML(template.HTMLEscapeString(text))
	}
	return template.HTML(b.String())
}

func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) {
	o := s.api.OpenAPI()
	groups := map[string]*docsGroup{}
	var order []*docsGroup
	for _, t := range o.Tags {
		g := &docsGroup{Tag: t.Name, Description: markdown(t.Description)}
		groups[t.Name] = g
		order = append(order, g)
	}
	paths := make([]string, 0, len(o.Paths))
	for p := range o.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, op := range pathOps(o.Paths[p]) {
			if len(op.Tags) == 0 || groups[op.Tags[0]] == nil {
				continue
			}
			g := groups[op.Tags[0]]
			g.Ops = append(g.Ops, docsOp{Method: op.Method, Path: p, Summary: op.Summary,
				Description: markdown(op.Description), Auth: schemeOf(op)})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	docsPage.Execute(w, map[string]any{"Description": markdown(o.Info.Description), "Groups": order})
}

// pathOps lists a path item's operations in a stable order.
func pathOps(p *huma.PathItem) []*huma.Operation {
	var out []*huma.Operation
	for _, op := range []*huma.Operation{p.Get, p.Post, p.Put, p.Patch, p.Delete} {
		if op != nil {
			out = append(out, op)
		}
	}
	return out
}

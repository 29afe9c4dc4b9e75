package api

import (
	"html/template"
	"net/http"
	"sort"

	"github.com/danielgtaylor/huma/v2"
)

// docsPage is a self-contained HTML list of the operations (no CDN: the
// page must work offline).
var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CodePod API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:.6rem 0}.m{display:inline-block;width:4.5rem;font:bold 13px monospace}
code{font-size:14px}.d{color:#555;margin-left:4.7rem}.auth{color:#a60;font-size:13px}
</style></head><body>
<h1>CodePod API</h1>
<p>{{.Description}}</p>
<p>Machine-readable: <a href="/openapi.yaml">/openapi.yaml</a> · <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.0.3).</p>
{{range .Groups}}<h2 id="{{.Tag}}">{{.Tag}}</h2><p>{{.Description}}</p>
{{range .Ops}}<div class="op"><span class="m">{{.Method}}</span><code>{{.Path}}</code> — {{.Summary}}
{{if .Auth}}<span class="auth">[{{.Auth}}]</span>{{end}}
{{if .Description}}<div class="d">{{.Description}}</div>{{end}}</div>
{{end}}{{end}}
</body></html>`))

type docsOp struct{ Method, Path, Summary, Description, Auth string }

type docsGroup struct {
	Tag, Description string
	Ops              []docsOp
}

func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) {
	o := s.api.OpenAPI()
	groups := map[string]*docsGroup{}
	var order []*docsGroup
	for _, t := range o.Tags {
		g := &docsGroup{Tag: t.Name, Description: t.Description}
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
				Description: op.Description, Auth: schemeOf(op)})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	docsPage.Execute(w, map[string]any{"Description": o.Info.Description, "Groups": order})
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

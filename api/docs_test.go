package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestDocsRenderMarkdown: /docs shows the spec's Markdown as HTML: code
// spans as <code>, never literal backticks.
func TestDocsRenderMarkdown(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/docs", "", nil).want(t, http.StatusOK)
	page := string(r.Body)
	if strings.Contains(page, "`") {
		i := strings.Index(page, "`")
		t.Errorf("/docs shows a literal backtick: …%s…", page[max(0, i-60):min(len(page), i+60)])
	}
	if !strings.Contains(page, "<code>Authorization: Bearer &lt;API key&gt;</code>") {
		t.Errorf("/docs does not render the description's code spans")
	}
	if strings.Contains(page, "<script") {
		t.Errorf("/docs has a script")
	}
}

package api

import (
	"net/http"
	"sort"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// TestAuditNamesEveryChangingOperation walks the router's operations: each
// one that changes something (POST, PUT, PATCH, DELETE) has an audit action
// name or is skipped on purpose, and every named one exists. An operation
// added without a name is still recorded (under its operation id); this
// test asks for a proper name.
func TestAuditNamesEveryChangingOperation(t *testing.T) {
	s := New(Config{})
	seen := map[string]bool{}
	var missing []string
	for _, item := range s.api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete, item.Head} {
			if op == nil {
				continue
			}
			seen[op.OperationID] = true
			a, audited := auditedOp(op)
			switch op.Method {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				if _, named := auditActions[op.OperationID]; !named && !auditSkipped[op.OperationID] {
					missing = append(missing, op.Method+" "+op.Path+" ("+op.OperationID+")")
				}
				if !audited && !auditSkipped[op.OperationID] {
					t.Errorf("%s is not audited", op.OperationID)
				}
			default:
				if audited && a.action == "" {
					t.Errorf("%s is audited without an action", op.OperationID)
				}
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no audit action name for %s: add it to auditActions (or auditSkipped) in api/audit.go", m)
	}
	for id := range auditActions {
		if !seen[id] {
			t.Errorf("auditActions names %q, which is no operation", id)
		}
	}
	for _, id := range []string{"exec-sandbox-stream", "open-terminal", "open-tunnel"} {
		if _, ok := auditedOp(s.api.OpenAPI().Paths[pathOf(s, id)].Get); !ok {
			t.Errorf("session operation %s is not audited", id)
		}
	}
}

func pathOf(s *Server, id string) string {
	for p, item := range s.api.OpenAPI().Paths {
		if item.Get != nil && item.Get.OperationID == id {
			return p
		}
	}
	return ""
}

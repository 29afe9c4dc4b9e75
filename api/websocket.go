package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
)

// metaQueryToken marks operations that also accept the API key as
// ?access_token=: browsers cannot set headers on a WebSocket.
const metaQueryToken = "codepod-query-token"

// wsOperation documents op as a WebSocket endpoint: a GET that answers 101
// Switching Protocols and then speaks the protocol text describes. Errors
// found before the upgrade are problem documents, as everywhere.
func wsOperation(op huma.Operation, queryToken bool, text string) huma.Operation {
	op.DefaultStatus = http.StatusSwitchingProtocols
	op.Responses = map[string]*huma.Response{
		"101": {Description: "Switching Protocols: the connection is a WebSocket from here on."},
	}
	if queryToken {
		if op.Metadata == nil {
			op.Metadata = map[string]any{}
		}
		op.Metadata[metaQueryToken] = true
	}
	return describe(op, "WebSocket endpoint (send the upgrade headers). "+text)
}

// upgrade answers an operation by handing the raw request to serve, which
// upgrades it to a WebSocket and keeps it until it returns.
func upgrade(serve func(w http.ResponseWriter, r *http.Request)) *huma.StreamResponse {
	return &huma.StreamResponse{Body: func(ctx huma.Context) {
		auditSessionOpened(ctx.Context()) // the session is recorded as it opens (audit.go)
		r, w := humachi.Unwrap(ctx)
		serve(w, r)
	}}
}

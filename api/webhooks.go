package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// Webhook is a webhook endpoint as the API shows it (the secret only once).
type Webhook struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Events         []string   `json:"events" nullable:"false" doc:"Event types it receives; empty: all."`
	Disabled       bool       `json:"disabled"`
	DisabledReason string     `json:"disabled_reason,omitempty" doc:"Why it is disabled, e.g. after a run of failed attempts."`
	FailureStreak  int        `json:"failure_streak" doc:"Failed attempts since the last success."`
	Secret         string     `json:"secret,omitempty" doc:"The signing secret (whsec_…): only in the answer that made or rotated it."`
	PreviousUntil  *time.Time `json:"previous_secret_valid_until,omitempty" doc:"After a rotation, the old secret still signs (beside the new) until then."`
	CreatedAt      time.Time  `json:"created_at"`
}

func newWebhook(e *codepod.WebhookEndpoint) Webhook {
	w := Webhook{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, Disabled: e.Disabled,
		DisabledReason: e.DisabledReason, FailureStreak: e.FailureStreak, PreviousUntil: e.PreviousUntil, CreatedAt: e.CreatedAt}
	if w.Events == nil {
		w.Events = []string{}
	}
	return w
}

// WebhookDelivery is one event on its way to an endpoint.
type WebhookDelivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id" doc:"The webhook-id header: the same for every attempt and redelivery."`
	EventType     string     `json:"event_type"`
	SandboxID     string     `json:"sandbox_id,omitempty"`
	Status        string     `json:"status" enum:"pending,succeeded,failed"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" doc:"When pending: the next attempt."`
	LastStatus    int        `json:"last_status" doc:"HTTP status of the last attempt; 0: no answer."`
	LastError     string     `json:"last_error,omitempty" doc:"The last attempt's error, or the start of a non-2xx answer's body."`
	LastLatencyMS float64    `json:"last_latency_ms"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func newWebhookDelivery(d *codepod.WebhookDelivery) WebhookDelivery {
	out := WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType, SandboxID: d.SandboxID, Status: d.Status,
		Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		LastLatencyMS: float64(d.LastLatency.Microseconds()) / 1000, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.Status == codepod.DeliveryPending {
		t := d.NextAttemptAt
		out.NextAttemptAt = &t
	}
	return out
}

// CreateWebhookRequest adds an endpoint.
type CreateWebhookRequest struct {
	URL         string   `json:"url" minLength:"1" maxLength:"2048" doc:"http(s) URL CodePod POSTs events to. Loopback, link-local and private addresses are refused unless an admin allowed them (--webhook-allow-net)."`
	Description string   `json:"description,omitempty" maxLength:"200"`
	Events      []string `json:"events,omitempty" maxItems:"16" doc:"Event types to receive (sandbox.created, sandbox.running, sandbox.stopped, sandbox.error, sandbox.lost, sandbox.deleted; runner.online and runner.offline reach server admins only); empty: all."`
}

// UpdateWebhookRequest changes an endpoint; absent fields stay.
type UpdateWebhookRequest struct {
	URL         *string   `json:"url,omitempty" maxLength:"2048"`
	Description *string   `json:"description,omitempty" maxLength:"200"`
	Events      *[]string `json:"events,omitempty" maxItems:"16"`
	Disabled    *bool     `json:"disabled,omitempty" doc:"false re-enables a disabled endpoint (its failure streak starts over)."`
}

type webhookOutput struct{ Body Webhook }
type listWebhooksOutput struct{ Body *List[Webhook] }
type deliveryOutput struct{ Body WebhookDelivery }
type listDeliveriesOutput struct{ Body *List[WebhookDelivery] }

type webhookDeliveryPath struct {
	ID       string `path:"id" maxLength:"200" doc:"The webhook's id."`
	Delivery string `path:"delivery" maxLength:"200" doc:"The delivery's id."`
}

type rotateInput struct {
	ID      string `path:"id" maxLength:"200"`
	KeepOld string `query:"keep_old" default:"24h" doc:"How long the old secret still signs beside the new one (a Go duration, at most 168h)."`
}

type testWebhookOutput struct {
	Body struct {
		EventID string `json:"event_id" doc:"The webhook-id of the test message; see its delivery in the delivery log."`
	}
}

func registerWebhooks(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/webhooks", "create-webhook", "webhooks", "Add a webhook endpoint", http.StatusConflict)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Events of the caller's sandboxes are POSTed to the URL, signed per the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature). The answer carries the signing secret: it is not shown again."),
		func(ctx context.Context, in *struct{ Body CreateWebhookRequest }) (*webhookOutput, error) {
			e, err := s.ctl.CreateWebhook(ctx, caller(ctx), in.Body.URL, in.Body.Description, in.Body.Events)
			if err != nil {
				return nil, err
			}
			w := newWebhook(e)
			w.Secret = e.Secret
			return &webhookOutput{Body: w}, nil
		})

	op = s.operation(userOnly, http.MethodGet, "/webhooks", "list-webhooks", "webhooks", "List the caller's webhook endpoints")
	register(api, s, describe(op, "All on one page: next_cursor is always empty."),
		func(ctx context.Context, _ *struct{}) (*listWebhooksOutput, error) {
			es, err := s.st.ListWebhooks(ctx, caller(ctx).WorkspaceOf())
			if err != nil {
				return nil, err
			}
			return &listWebhooksOutput{Body: newList(es, "", newWebhook)}, nil
		})

	op = s.operation(userOnly, http.MethodGet, "/webhooks/{id}", "get-webhook", "webhooks", "Get a webhook endpoint", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *idPath) (*webhookOutput, error) {
		e, err := s.st.Webhook(ctx, caller(ctx).WorkspaceOf(), in.ID)
		if err != nil {
			return nil, err
		}
		return &webhookOutput{Body: newWebhook(e)}, nil
	})

	op = s.operation(userOnly, http.MethodPatch, "/webhooks/{id}", "update-webhook", "webhooks", "Change a webhook endpoint", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"200"`
		Body UpdateWebhookRequest
	}) (*webhookOutput, error) {
		e, err := s.ctl.UpdateWebhook(ctx, caller(ctx).WorkspaceOf(), in.ID, codepod.WebhookUpdate{URL: in.Body.URL,
			Description: in.Body.Description, Events: in.Body.Events, Disabled: in.Body.Disabled})
		if err != nil {
			return nil, err
		}
		return &webhookOutput{Body: newWebhook(e)}, nil
	})

	op = s.operation(userOnly, http.MethodDelete, "/webhooks/{id}", "delete-webhook", "webhooks", "Delete a webhook endpoint", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, op, func(ctx context.Context, in *idPath) (*struct{}, error) {
		return &struct{}{}, s.st.DeleteWebhook(ctx, caller(ctx).WorkspaceOf(), in.ID)
	})

	op = s.operation(userOnly, http.MethodPost, "/webhooks/{id}/rotate-secret", "rotate-webhook-secret", "webhooks", "Give a webhook endpoint a new secret", http.StatusNotFound)
	register(api, s, describe(op, "The answer carries the new secret (not shown again). Until keep_old has passed, messages carry both signatures, so receivers can switch without losing one."),
		func(ctx context.Context, in *rotateInput) (*webhookOutput, error) {
			keep, err := time.ParseDuration(in.KeepOld)
			if err != nil || keep < 0 || keep > 168*time.Hour {
				return nil, codepod.Errorf(codepod.EINVALID, "keep_old %q must be a duration between 0s and 168h, e.g. 24h", in.KeepOld)
			}
			e, err := s.ctl.RotateWebhookSecret(ctx, caller(ctx).WorkspaceOf(), in.ID, keep)
			if err != nil {
				return nil, err
			}
			w := newWebhook(e)
			w.Secret = e.Secret
			return &webhookOutput{Body: w}, nil
		})

	op = s.operation(userOnly, http.MethodPost, "/webhooks/{id}/test", "test-webhook", "webhooks", "Send a test event to a webhook endpoint", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusAccepted
	register(api, s, describe(op, "Queues a webhook.test event for this endpoint only; its outcome is in the delivery log."),
		func(ctx context.Context, in *idPath) (*testWebhookOutput, error) {
			id, err := s.ctl.TestWebhook(ctx, caller(ctx).WorkspaceOf(), in.ID)
			if err != nil {
				return nil, err
			}
			out := &testWebhookOutput{}
			out.Body.EventID = id
			return out, nil
		})

	op = s.operation(userOnly, http.MethodGet, "/webhooks/{id}/deliveries", "list-webhook-deliveries", "webhooks", "List a webhook endpoint's deliveries", http.StatusNotFound)
	register(api, s, describe(op, "Oldest first, with each one's attempts, last HTTP status, error and latency."),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"200"`
			PageParams
		}) (*listDeliveriesOutput, error) {
			if _, err := s.st.Webhook(ctx, caller(ctx).WorkspaceOf(), in.ID); err != nil {
				return nil, err
			}
			ds, next, err := s.st.ListWebhookDeliveries(ctx, in.ID, codepod.Page{Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			return &listDeliveriesOutput{Body: newList(ds, next, newWebhookDelivery)}, nil
		})

	op = s.operation(userOnly, http.MethodPost, "/webhooks/{id}/deliveries/{delivery}/redeliver", "redeliver-webhook", "webhooks", "Deliver an event again", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusAccepted
	register(api, s, describe(op, "Makes the delivery pending and due now; the message keeps its webhook-id, so receivers that deduplicate see it as a repeat."),
		func(ctx context.Context, in *webhookDeliveryPath) (*deliveryOutput, error) {
			d, err := s.ctl.Redeliver(ctx, caller(ctx).WorkspaceOf(), in.ID, in.Delivery)
			if err != nil {
				return nil, err
			}
			return &deliveryOutput{Body: newWebhookDelivery(d)}, nil
		})
}

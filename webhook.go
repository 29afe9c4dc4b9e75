package codepod

import (
	"context"
	"time"
)

// Webhook event types: what a webhook endpoint subscribes to.
const (
	EventSandboxCreated = "sandbox.created"
	EventSandboxRunning = "sandbox.running"
	EventSandboxStopped = "sandbox.stopped"
	EventSandboxError   = "sandbox.error"
	EventSandboxLost    = "sandbox.lost"
	EventSandboxDeleted = "sandbox.deleted"
	EventWebhookTest    = "webhook.test"
	// Runner events go to the endpoints of server admins only (runners
	// are the server's, not a tenant's).
	EventRunnerOnline  = "runner.online"
	EventRunnerOffline = "runner.offline"
)

// WebhookEventTypes are the types an endpoint may subscribe to.
var WebhookEventTypes = []string{EventSandboxCreated, EventSandboxRunning, EventSandboxStopped,
	EventSandboxError, EventSandboxLost, EventSandboxDeleted, EventRunnerOnline, EventRunnerOffline}

// SandboxEventType is the webhook event a sandbox entering status st
// emits ("" for statuses no event names).
func SandboxEventType(st SandboxStatus) string {
	switch st {
	case SandboxRunning:
		return EventSandboxRunning
	case SandboxStopped:
		return EventSandboxStopped
	case SandboxError:
		return EventSandboxError
	case SandboxLost:
		return EventSandboxLost
	case SandboxDeleted:
		return EventSandboxDeleted
	}
	return ""
}

// WebhookEndpoint is a URL of a user's that CodePod POSTs events to,
// signed per the Standard Webhooks spec with Secret (and, during a
// rotation, PreviousSecret until PreviousUntil).
type WebhookEndpoint struct {
	ID          string
	OwnerID     string // who created it
	WorkspaceID string // whose sandboxes' events it receives
	URL         string
	Description string
	// Events it receives; empty: every type.
	Events         []string
	Secret         string // "whsec_" + base64; shown once
	PreviousSecret string
	PreviousUntil  *time.Time
	// Disabled endpoints get no new deliveries; DisabledReason says why
	// (e.g. after a run of failures).
	Disabled       bool
	DisabledReason string
	// FailureStreak counts failed attempts since the last success.
	FailureStreak int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Subscribed reports whether the endpoint receives events of type t.
func (e *WebhookEndpoint) Subscribed(t string) bool {
	if t == EventWebhookTest || len(e.Events) == 0 {
		return true
	}
	for _, x := range e.Events {
		if x == t {
			return true
		}
	}
	return false
}

// WebhookEvent is one event, written in the transaction of the change it
// reports; each subscribed endpoint of its owner gets a delivery.
type WebhookEvent struct {
	ID        string // "msg_…": the webhook-id header
	OwnerID   string // the workspace whose endpoints receive it
	Type      string
	SandboxID string // "" for events of no sandbox; deliveries of one sandbox are in order
	// SandboxVersion is the sandbox's version after the change: it orders
	// the deliveries of one sandbox (versions only grow).
	SandboxVersion int64
	Payload        []byte // the JSON body
	CreatedAt      time.Time
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its (next) attempt, or being attempted
	DeliverySucceeded = "succeeded" // a 2xx answered
	DeliveryFailed    = "failed"    // every attempt failed, or the endpoint was disabled
)

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID            string
	EndpointID    string
	EventID       string
	EventType     string
	SandboxID     string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	LastStatus    int // HTTP status of the last attempt; 0: no answer
	LastError     string
	LastLatency   time.Duration
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Payload is the event's body (filled by ClaimWebhookDeliveries).
	Payload []byte
}

// WebhookUpdate changes an endpoint's fields that are set.
type WebhookUpdate struct {
	URL            *string
	Description    *string
	Events         *[]string
	Disabled       *bool
	DisabledReason *string
	Secret         *string // rotation: the old one becomes PreviousSecret until PreviousUntil
	PreviousUntil  *time.Time
}

// WebhookOutcome is the result of one delivery attempt.
type WebhookOutcome struct {
	Status  int // HTTP status; 0: no answer
	Error   string
	Latency time.Duration
	// Next, when not zero, schedules another attempt; zero with a
	// non-2xx Status means the delivery failed for good.
	Next time.Time
	// DisableAfter disables the endpoint when its failure streak reaches
	// it (0: never).
	DisableAfter int
}

// WebhookStore keeps webhook endpoints, the event outbox and deliveries.
// Store embeds it.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, e *WebhookEndpoint) error
	// Webhook returns endpoint id of workspace ownerID (any workspace's when "").
	// The ownerID of these methods is a workspace id.
	Webhook(ctx context.Context, ownerID, id string) (*WebhookEndpoint, error)
	ListWebhooks(ctx context.Context, ownerID string) ([]WebhookEndpoint, error)
	UpdateWebhook(ctx context.Context, ownerID, id string, u WebhookUpdate) (*WebhookEndpoint, error)
	DeleteWebhook(ctx context.Context, ownerID, id string) error
	// EmitWebhookEvent inserts ev and a pending delivery for each enabled
	// endpoint of its owner subscribed to its type (only to endpointID
	// when not ""); it returns how many. Call it in the transaction of the
	// change ev reports.
	EmitWebhookEvent(ctx context.Context, ev *WebhookEvent, endpointID string) (int, error)
	// ClaimWebhookDeliveries leases up to max pending deliveries due at now
	// whose lease is free and that have no earlier pending delivery of the
	// same endpoint and sandbox (order per sandbox), counting an attempt.
	// A conditional write: no delivery is leased to two claimants at once.
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, max int) ([]WebhookDelivery, error)
	// FinishWebhookDelivery records attempt number attempt of delivery id
	// (only if it is still that attempt's lease: false otherwise) and the
	// endpoint's failure streak, disabling it at o.DisableAfter.
	FinishWebhookDelivery(ctx context.Context, id string, attempt int, now time.Time, o WebhookOutcome) (bool, error)
	// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
	ListWebhookDeliveries(ctx context.Context, endpointID string, p Page) ([]WebhookDelivery, string, error)
	// RedeliverWebhook makes delivery id of endpointID pending again, due at now.
	RedeliverWebhook(ctx context.Context, endpointID, id string, now time.Time) (*WebhookDelivery, error)
	// NextWebhookDue is the earliest next attempt of a pending delivery
	// (zero when there is none).
	NextWebhookDue(ctx context.Context) (time.Time, error)
	// PruneWebhookEvents deletes events (and their deliveries) created
	// before before whose deliveries are all finished.
	PruneWebhookEvents(ctx context.Context, before time.Time) (int, error)
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

// ID prefixes of webhooks.
const (
	PrefixWebhook  = "wh_"
	PrefixEvent    = "msg_"
	PrefixDelivery = "whd_"
)

type webhookRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:we"`

	ID             string     `bun:"id,pk"`
	OwnerID        string     `bun:"owner_id"`
	WorkspaceID    string     `bun:"workspace_id"`
	URL            string     `bun:"url"`
	Description    string     `bun:"description"`
	Events         string     `bun:"events"`
	Secret         string     `bun:"secret"`
	PreviousSecret string     `bun:"previous_secret"`
	PreviousUntil  *time.Time `bun:"previous_until"`
	Disabled       bool       `bun:"disabled"`
	DisabledReason string     `bun:"disabled_reason"`
	FailureStreak  int        `bun:"failure_streak"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
}

func (r webhookRow) pageKey() (time.Time, string) { return r.CreatedAt, r.ID }

func (r *webhookRow) endpoint() codepod.WebhookEndpoint {
	var events []string
	json.Unmarshal([]byte(r.Events), &events)
	e := codepod.WebhookEndpoint{ID: r.ID, OwnerID: r.OwnerID, WorkspaceID: r.WorkspaceID, URL: r.URL, Description: r.Description, Events: events,
		Secret: r.Secret, PreviousSecret: r.PreviousSecret, Disabled: r.Disabled, DisabledReason: r.DisabledReason,
		FailureStreak: r.FailureStreak, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.PreviousUntil != nil {
		t := r.PreviousUntil.UTC()
		e.PreviousUntil = &t
	}
	return e
}

func eventsJSON(events []string) string {
	if events == nil {
		events = []string{}
	}
	b, _ := json.Marshal(events)
	return string(b)
}

type webhookEventRow struct {
	bun.BaseModel `bun:"table:webhook_events,alias:wev"`

	ID        string    `bun:"id,pk"`
	OwnerID   string    `bun:"owner_id"`
	Type      string    `bun:"type"`
	SandboxID string    `bun:"sandbox_id"`
	Payload   string    `bun:"payload"`
	CreatedAt time.Time `bun:"created_at"`
}

type deliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID            string     `bun:"id,pk"`
	EndpointID    string     `bun:"endpoint_id"`
	EventID       string     `bun:"event_id"`
	EventType     string     `bun:"event_type"`
	SandboxID     string     `bun:"sandbox_id"`
	SandboxVer    int64      `bun:"sandbox_version"`
	Status        string     `bun:"status"`
	Attempts      int        `bun:"attempts"`
	NextAttemptAt time.Time  `bun:"next_attempt_at"`
	LeaseUntil    *time.Time `bun:"lease_until"`
	LastStatus    int        `bun:"last_status"`
	LastError     string     `bun:"last_error"`
	LastLatencyUS int64      `bun:"last_latency_us"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
}

func (r deliveryRow) pageKey() (time.Time, string) { return r.CreatedAt, r.ID }

func (r *deliveryRow) delivery() codepod.WebhookDelivery {
	d := codepod.WebhookDelivery{ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType,
		SandboxID: r.SandboxID, Status: r.Status, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.UTC(),
		LastStatus: r.LastStatus, LastError: r.LastError, LastLatency: time.Duration(r.LastLatencyUS) * time.Microsecond,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.LeaseUntil != nil {
		t := r.LeaseUntil.UTC()
		d.LeaseUntil = &t
	}
	return d
}

// CreateWebhook inserts e, assigning its ID and times when they are empty.
func (db *DB) CreateWebhook(ctx context.Context, e *codepod.WebhookEndpoint) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CreateWebhook(ctx, e) })
	}
	setID(&e.ID, PrefixWebhook)
	codepod.SetAuditTarget(ctx, "webhook", e.ID, e.OwnerID)
	stamp(&e.CreatedAt, now())
	e.CreatedAt = dbTime(e.CreatedAt)
	e.UpdatedAt = e.CreatedAt
	if e.WorkspaceID == "" {
		e.WorkspaceID = codepod.PersonalWorkspaceID(e.OwnerID)
	}
	row := webhookRow{ID: e.ID, OwnerID: e.OwnerID, WorkspaceID: e.WorkspaceID, URL: e.URL, Description: e.Description, Events: eventsJSON(e.Events),
		Secret: e.Secret, Disabled: e.Disabled, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	_, err := db.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(err, "create webhook", nil)
}

// Webhook returns endpoint id of ownerID (of any owner when "").
func (db *DB) Webhook(ctx context.Context, ownerID, id string) (*codepod.WebhookEndpoint, error) {
	var row webhookRow
	q := db.idb.NewSelect().Model(&row).Where("we.id = ?", id)
	if ownerID != "" {
		q = q.Where("we.workspace_id = ?", ownerID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, "get webhook", "webhook", id)
	}
	e := row.endpoint()
	return &e, nil
}

// ListWebhooks returns ownerID's endpoints (every owner's when ""), oldest first.
func (db *DB) ListWebhooks(ctx context.Context, ownerID string) ([]codepod.WebhookEndpoint, error) {
	var rows []webhookRow
	q := db.idb.NewSelect().Model(&rows).Order("we.created_at", "we.id").Limit(1000)
	if ownerID != "" {
		q = q.Where("we.workspace_id = ?", ownerID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, dbError(err, "list webhooks", nil)
	}
	return convert(rows, (*webhookRow).endpoint), nil
}

// UpdateWebhook changes the set fields of endpoint id of ownerID.
func (db *DB) UpdateWebhook(ctx context.Context, ownerID, id string, u codepod.WebhookUpdate) (*codepod.WebhookEndpoint, error) {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		var out *codepod.WebhookEndpoint
		err := db.runInTx(ctx, func(ctx context.Context, tx *DB) (err error) {
			out, err = tx.UpdateWebhook(ctx, ownerID, id, u)
			return err
		})
		return out, err
	}
	q := db.idb.NewUpdate().Model((*webhookRow)(nil)).Where("id = ?", id).Set("updated_at = ?", now())
	if ownerID != "" {
		q = q.Where("workspace_id = ?", ownerID)
	}
	if u.URL != nil {
		q = q.Set("url = ?", *u.URL)
	}
	if u.Description != nil {
		q = q.Set("description = ?", *u.Description)
	}
	if u.Events != nil {
		q = q.Set("events = ?", eventsJSON(*u.Events))
	}
	if u.Disabled != nil {
		q = q.Set("disabled = ?", *u.Disabled)
		if !*u.Disabled {
			q = q.Set("failure_streak = 0").Set("disabled_reason = ''")
		}
	}
	if u.DisabledReason != nil {
		q = q.Set("disabled_reason = ?", *u.DisabledReason)
	}
	if u.Secret != nil {
		q = q.Set("previous_secret = secret").Set("secret = ?", *u.Secret).Set("previous_until = ?", u.PreviousUntil)
	}
	res, err := q.Exec(ctx)
	if err := mustAffect(res, err, "update webhook", "webhook", id); err != nil {
		return nil, err
	}
	return db.Webhook(ctx, ownerID, id)
}

// DeleteWebhook removes endpoint id of ownerID with its deliveries.
func (db *DB) DeleteWebhook(ctx context.Context, ownerID, id string) error {
	return db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		if _, err := tx.Webhook(ctx, ownerID, id); err != nil {
			return err
		}
		if _, err := tx.idb.NewDelete().Model((*deliveryRow)(nil)).Where("endpoint_id = ?", id).Exec(ctx); err != nil {
			return dbError(err, "delete webhook deliveries", nil)
		}
		res, err := tx.idb.NewDelete().Model((*webhookRow)(nil)).Where("id = ?", id).Exec(ctx)
		return mustAffect(res, err, "delete webhook", "webhook", id)
	})
}

// EmitWebhookEvent writes ev and a delivery per subscribed, enabled
// endpoint of its owner (only endpointID when set).
func (db *DB) EmitWebhookEvent(ctx context.Context, ev *codepod.WebhookEvent, endpointID string) (int, error) {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		var out int
		err := db.runInTx(ctx, func(ctx context.Context, tx *DB) (err error) {
			out, err = tx.EmitWebhookEvent(ctx, ev, endpointID)
			return err
		})
		return out, err
	}
	var eps []webhookRow
	q := db.idb.NewSelect().Model(&eps).Where("we.workspace_id = ?", ev.OwnerID).Where("we.disabled = ?", false)
	if endpointID != "" {
		q = q.Where("we.id = ?", endpointID)
	}
	if err := q.Scan(ctx); err != nil {
		return 0, dbError(err, "find webhooks", nil)
	}
	var ds []deliveryRow
	for i := range eps {
		e := eps[i].endpoint()
		if e.Subscribed(ev.Type) {
			ds = append(ds, deliveryRow{EndpointID: e.ID})
		}
	}
	if len(ds) == 0 {
		return 0, nil
	}
	setID(&ev.ID, PrefixEvent)
	stamp(&ev.CreatedAt, now())
	ev.CreatedAt = dbTime(ev.CreatedAt)
	row := webhookEventRow{ID: ev.ID, OwnerID: ev.OwnerID, Type: ev.Type, SandboxID: ev.SandboxID,
		Payload: string(ev.Payload), CreatedAt: ev.CreatedAt}
	if _, err := db.idb.NewInsert().Model(&row).Exec(ctx); err != nil {
		return 0, dbError(err, "write webhook event", nil)
	}
	for i := range ds {
		ds[i].ID, ds[i].EventID, ds[i].EventType, ds[i].SandboxID = NewID(PrefixDelivery), ev.ID, ev.Type, ev.SandboxID
		ds[i].SandboxVer = ev.SandboxVersion
		ds[i].Status, ds[i].NextAttemptAt = codepod.DeliveryPending, ev.CreatedAt
		ds[i].CreatedAt, ds[i].UpdatedAt = ev.CreatedAt, ev.CreatedAt
	}
	if _, err := db.idb.NewInsert().Model(&ds).Exec(ctx); err != nil {
		return 0, dbError(err, "write webhook deliveries", nil)
	}
	return len(ds), nil
}

// ClaimWebhookDeliveries leases due deliveries; see codepod.WebhookStore.
// Each lease is a conditional write on the row's free lease and attempt
// count, so two replicas never both lease one delivery.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, at time.Time, lease time.Duration, max int) ([]codepod.WebhookDelivery, error) {
	at = dbTime(at)
	var rows []deliveryRow
	err := db.idb.NewSelect().Model(&rows).
		Where("wd.status = ?", codepod.DeliveryPending).
		Where("wd.next_attempt_at <= ?", at).
		Where("(wd.lease_until IS NULL OR wd.lease_until < ?)", at).
		// Order per endpoint and sandbox: an earlier pending delivery of
		// the same sandbox (leased or waiting for a retry) goes first.
		// Earlier is a lower sandbox version: two changes of one sandbox
		// are serialized by its conditional write, so the later one's
		// event carries the higher version whatever the clocks say.
		Where(`NOT EXISTS (SELECT 1 FROM webhook_deliveries AS e WHERE e.endpoint_id = wd.endpoint_id
			AND e.sandbox_id = wd.sandbox_id AND wd.sandbox_id <> '' AND e.status = ?
			AND e.sandbox_version < wd.sandbox_version)`, codepod.DeliveryPending).
		OrderExpr("wd.next_attempt_at, wd.created_at, wd.id").Limit(int64(max)).Scan(ctx)
	if err != nil {
		return nil, dbError(err, "find due webhook deliveries", nil)
	}
	until := at.Add(lease)
	var out []codepod.WebhookDelivery
	for _, r := range rows {
		res, err := db.idb.NewUpdate().Model((*deliveryRow)(nil)).
			Set("lease_until = ?", until).Set("attempts = attempts + 1").Set("updated_at = ?", at).
			Where("id = ? AND attempts = ? AND status = ?", r.ID, r.Attempts, codepod.DeliveryPending).
			Where("(lease_until IS NULL OR lease_until < ?)", at).Exec(ctx)
		if err != nil {
			return nil, dbError(err, "lease webhook delivery", nil)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue // another replica leased it first
		}
		var ev webhookEventRow
		if err := db.idb.NewSelect().Model(&ev).Where("wev.id = ?", r.EventID).Scan(ctx); err != nil {
			return nil, dbError(err, "read webhook event", nil)
		}
		r.Attempts++
		r.LeaseUntil = &until
		d := r.delivery()
		d.Payload = []byte(ev.Payload)
		out = append(out, d)
	}
	return out, nil
}

// FinishWebhookDelivery records an attempt's outcome if the delivery is
// still leased for that attempt.
func (db *DB) FinishWebhookDelivery(ctx context.Context, id string, attempt int, at time.Time, o codepod.WebhookOutcome) (bool, error) {
	at = dbTime(at)
	ok := o.Status >= 200 && o.Status < 300
	status, next := codepod.DeliveryPending, dbTime(o.Next)
	switch {
	case ok:
		status, next = codepod.DeliverySucceeded, at
	case o.Next.IsZero():
		status, next = codepod.DeliveryFailed, at
	}
	var applied bool
	err := db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		var d deliveryRow
		if err := tx.idb.NewSelect().Model(&d).Where("wd.id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "finish webhook delivery", "webhook delivery", id)
		}
		res, err := tx.idb.NewUpdate().Model((*deliveryRow)(nil)).
			Set("status = ?", status).Set("next_attempt_at = ?", next).Set("lease_until = NULL").
			Set("last_status = ?", o.Status).Set("last_error = ?", o.Error).
			Set("last_latency_us = ?", o.Latency.Microseconds()).Set("updated_at = ?", at).
			Where("id = ? AND attempts = ? AND status = ?", id, attempt, codepod.DeliveryPending).Exec(ctx)
		if err != nil {
			return dbError(err, "finish webhook delivery", nil)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // redelivered or finished meanwhile
		}
		applied = true
		q := tx.idb.NewUpdate().Model((*webhookRow)(nil)).Where("id = ?", d.EndpointID)
		if ok {
			_, err = q.Set("failure_streak = 0").Exec(ctx)
			return dbError(err, "reset webhook failure streak", nil)
		}
		if _, err := q.Set("failure_streak = failure_streak + 1").Exec(ctx); err != nil {
			return dbError(err, "count webhook failure", nil)
		}
		if o.DisableAfter <= 0 {
			return nil
		}
		reason := "disabled after " + itoa(o.DisableAfter) + " failed attempts in a row; the last: " + outcomeText(o)
		res, err = tx.idb.NewUpdate().Model((*webhookRow)(nil)).Set("disabled = ?", true).Set("disabled_reason = ?", reason).
			Set("updated_at = ?", at).Where("id = ? AND failure_streak >= ? AND disabled = ?", d.EndpointID, o.DisableAfter, false).Exec(ctx)
		if err != nil {
			return dbError(err, "disable webhook", nil)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			// Its waiting deliveries will not be attempted: say so.
			_, err = tx.idb.NewUpdate().Model((*deliveryRow)(nil)).Set("status = ?", codepod.DeliveryFailed).
				Set("last_error = ?", "the endpoint was disabled").Set("updated_at = ?", at).
				Where("endpoint_id = ? AND status = ? AND lease_until IS NULL", d.EndpointID, codepod.DeliveryPending).Exec(ctx)
			return dbError(err, "fail a disabled webhook's deliveries", nil)
		}
		return nil
	})
	return applied, err
}

func outcomeText(o codepod.WebhookOutcome) string {
	if o.Status != 0 {
		return "HTTP " + itoa(o.Status)
	}
	return o.Error
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// ListWebhookDeliveries returns an endpoint's deliveries, oldest first.
func (db *DB) ListWebhookDeliveries(ctx context.Context, endpointID string, p codepod.Page) ([]codepod.WebhookDelivery, string, error) {
	var rows []deliveryRow
	q := db.idb.NewSelect().Model(&rows).Where("wd.endpoint_id = ?", endpointID)
	return listPage(ctx, q, &rows, "wd", p, "list webhook deliveries", (*deliveryRow).delivery)
}

// RedeliverWebhook makes delivery id pending again, due at at.
func (db *DB) RedeliverWebhook(ctx context.Context, endpointID, id string, at time.Time) (*codepod.WebhookDelivery, error) {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		var out *codepod.WebhookDelivery
		err := db.runInTx(ctx, func(ctx context.Context, tx *DB) (err error) {
			out, err = tx.RedeliverWebhook(ctx, endpointID, id, at)
			return err
		})
		return out, err
	}
	at = dbTime(at)
	res, err := db.idb.NewUpdate().Model((*deliveryRow)(nil)).
		Set("status = ?", codepod.DeliveryPending).Set("next_attempt_at = ?", at).Set("updated_at = ?", at).
		Where("id = ? AND endpoint_id = ?", id, endpointID).
		Where("(status <> ? OR lease_until IS NULL OR lease_until < ?)", codepod.DeliveryPending, at).Exec(ctx)
	if err != nil {
		return nil, dbError(err, "redeliver webhook", nil)
	}
	var row deliveryRow
	if err := db.idb.NewSelect().Model(&row).Where("wd.id = ? AND wd.endpoint_id = ?", id, endpointID).Scan(ctx); err != nil {
		return nil, notFound(err, "redeliver webhook", "webhook delivery", id)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, codepod.Errorf(codepod.ECONFLICT, "delivery %s is being attempted right now; try again when it ends", id)
	}
	d := row.delivery()
	return &d, nil
}

// NextWebhookDue is the earliest next attempt of a pending delivery.
func (db *DB) NextWebhookDue(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := db.idb.NewSelect().Model((*deliveryRow)(nil)).Column("next_attempt_at").
		Where("status = ?", codepod.DeliveryPending).OrderExpr("next_attempt_at").Limit(1).Scan(ctx, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, dbError(err, "next webhook delivery", nil)
	}
	return t.UTC(), nil
}

// PruneWebhookEvents deletes old events whose deliveries all finished.
func (db *DB) PruneWebhookEvents(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		var ids []string
		err := tx.idb.NewSelect().Model((*webhookEventRow)(nil)).Column("id").
			Where("created_at < ?", dbTime(before)).
			Where("NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.event_id = wev.id AND d.status = ?)", codepod.DeliveryPending).
			Limit(1000).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return dbError(err, "find old webhook events", nil)
		}
		if _, err := tx.idb.NewDelete().Model((*deliveryRow)(nil)).Where("event_id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
			return dbError(err, "prune webhook deliveries", nil)
		}
		res, err := tx.idb.NewDelete().Model((*webhookEventRow)(nil)).Where("id IN (?)", bun.In(ids)).Exec(ctx)
		if err != nil {
			return dbError(err, "prune webhook events", nil)
		}
		c, _ := res.RowsAffected()
		n = int(c)
		return nil
	})
	return n, err
}

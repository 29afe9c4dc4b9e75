package control

// Webhooks (docs/webhooks.md): events are written to the store in the
// transaction of the change they report (EmitWebhookEvent, from apply and
// CreateSandbox), with one pending delivery per subscribed endpoint. Every
// replica runs deliverWebhooks: it leases due deliveries with a
// conditional write (so no delivery is attempted by two replicas at once),
// POSTs them signed per the Standard Webhooks spec, and records the
// outcome — success, a retry at the next step of the schedule (with
// jitter), or failure for good; an endpoint is disabled after a run of
// failed attempts. Deliveries of one sandbox to one endpoint go in order.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod"
)

// WebhookConfig configures webhook delivery.
type WebhookConfig struct {
	// Retries are the waits before each attempt after the first (default
	// 5s, 5m, 30m, 2h, 5h, 10h, 10h: eight attempts over about 28 hours);
	// each is jittered by ±20%.
	Retries []time.Duration
	// DisableAfter disables an endpoint after this many failed attempts in
	// a row (default 50).
	DisableAfter int
	// Timeout bounds one attempt (default 15s).
	Timeout time.Duration
	// Lease is how long a replica holds a delivery it attempts (default
	// Timeout + 15s).
	Lease time.Duration
	// Interval is how often a replica looks for due deliveries besides
	// being woken by its own events (default 1s).
	Interval time.Duration
	// AllowNets are addresses deliveries may reach although they are
	// loopback, link-local or private (the SSRF guard refuses those by
	// default), e.g. 127.0.0.0/8 for a receiver on the same host.
	AllowNets []netip.Prefix
	// Concurrency bounds a replica's attempts at once (default 8).
	Concurrency int
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Retries == nil {
		c.Retries = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = 50
	}
	setDuration(&c.Timeout, 15*time.Second)
	setDuration(&c.Lease, c.Timeout+15*time.Second)
	setDuration(&c.Interval, time.Second)
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	return c
}

// Limits of webhook endpoints.
const (
	MaxWebhooksPerUser = 20
	maxWebhookURL      = 2048
	webhookBodyLog     = 512 // bytes of a failed answer kept as its error
)

// webhookKey is the hub key a replica's deliverer waits on.
const webhookKey = "webhooks"

// sandboxEvent writes a webhook event of type typ for sb in tx (a no-op
// when its owner has no endpoint for it).
func (s *Service) sandboxEvent(ctx context.Context, tx codepod.Store, out *outbox, sb *codepod.Sandbox, typ string) error {
	if typ == "" {
		return nil
	}
	at := s.now().UTC()
	body, err := json.Marshal(map[string]any{
		"type":      typ,
		"timestamp": at.Format(time.RFC3339Nano),
		"data": map[string]any{
			"id": sb.ID, "name": sb.Name, "owner_id": sb.OwnerID, "status": sb.Status, "reason": sb.Reason,
			"image": sb.Spec.Image, "runner_id": sb.RunnerID, "version": sb.Version,
		},
	})
	if err != nil {
		return err
	}
	n, err := tx.EmitWebhookEvent(ctx, &codepod.WebhookEvent{OwnerID: sb.WorkspaceID, Type: typ, SandboxID: sb.ID,
		SandboxVersion: sb.Version, Payload: body, CreatedAt: at}, "")
	if err != nil {
		return fmt.Errorf("webhook event %s of sandbox %s: %w", typ, sb.ID, err)
	}
	if n > 0 {
		out.webhooks = true
	}
	return nil
}

// runnerEvent writes a webhook event of type typ for runner id in tx, one
// per server admin whose personal workspace has an endpoint subscribed to
// it: runners are the server's, so tenants' endpoints never hear of them.
func (s *Service) runnerEvent(ctx context.Context, tx codepod.Store, out *outbox, id, typ string) error {
	r, err := tx.Runner(ctx, id)
	if err != nil {
		return fmt.Errorf("webhook event %s of runner %s: %w", typ, id, err)
	}
	at := s.now().UTC()
	body, err := json.Marshal(map[string]any{
		"type":      typ,
		"timestamp": at.Format(time.RFC3339Nano),
		"data": map[string]any{
			"id": r.ID, "name": r.Name, "status": r.Status, "labels": r.Labels, "version": r.Version,
			"last_seen_at": r.LastSeenAt.UTC().Format(time.RFC3339Nano),
		},
	})
	if err != nil {
		return err
	}
	for page := ""; ; {
		users, next, err := tx.ListUsers(ctx, codepod.Page{Cursor: page, Limit: 500})
		if err != nil {
			return fmt.Errorf("webhook event %s of runner %s: list admins: %w", typ, id, err)
		}
		for _, u := range users {
			if !u.Admin {
				continue
			}
			n, err := tx.EmitWebhookEvent(ctx, &codepod.WebhookEvent{OwnerID: codepod.PersonalWorkspaceID(u.ID), Type: typ, Payload: body, CreatedAt: at}, "")
			if err != nil {
				return fmt.Errorf("webhook event %s of runner %s: %w", typ, id, err)
			}
			if n > 0 {
				out.webhooks = true
			}
		}
		if next == "" {
			return nil
		}
		page = next
	}
}

// NewWebhookSecret is a Standard Webhooks secret: "whsec_" and 32 random
// bytes in base64.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// SignWebhook is the Standard Webhooks signature of one message:
// "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)).
func SignWebhook(secret, id string, timestamp int64, body []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		key = []byte(secret)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// CheckWebhookURL refuses what can never be delivered: not http(s), no
// host, too long, or an address literal the SSRF guard refuses.
func (s *Service) CheckWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > maxWebhookURL {
		return codepod.Errorf(codepod.EINVALID, "url %q must be an http:// or https:// URL with a host, at most %d characters", raw, maxWebhookURL)
	}
	if u.User != nil {
		return codepod.Errorf(codepod.EINVALID, "url must not carry credentials (user:password@); the signature authenticates CodePod")
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !s.webhookAddrAllowed(a) {
		return codepod.Errorf(codepod.EINVALID, "url %q names %s, a loopback, link-local or private address webhooks may not reach (an admin can allow it: --webhook-allow-net)", raw, a)
	}
	return nil
}

// webhookAddrAllowed is the SSRF guard: public addresses, or those an
// admin allowed.
func (s *Service) webhookAddrAllowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.hooks.AllowNets {
		if p.Contains(a) {
			return true
		}
	}
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || a.IsPrivate() {
		return false
	}
	if a.Is4() {
		for _, p := range codepod.PrivateRanges {
			if p.Contains(a) {
				return false
			}
		}
	}
	return true
}

// webhookClient dials only addresses the guard allows — checked on the
// address actually dialled, after DNS, so a name that resolves (or
// rebinds) to a private address is refused too — follows no redirects
// and uses no proxy. One connection per attempt (no idle pool to leak).
func (s *Service) webhookClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhook: cannot check address %q", address)
		}
		if !s.webhookAddrAllowed(ap.Addr()) {
			return fmt.Errorf("webhook: %s is a loopback, link-local or private address; an admin can allow it with --webhook-allow-net", ap.Addr())
		}
		return nil
	}}
	return &http.Client{
		Timeout: s.hooks.Timeout,
		Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil, DisableKeepAlives: true,
			TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: s.hooks.Timeout},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// deliverWebhooks attempts due deliveries until ctx ends.
func (s *Service) deliverWebhooks(ctx context.Context) {
	client := s.webhookClient()
	t := s.cfg.Clock.NewTicker(s.hooks.Interval, "webhooks")
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := s.deliverDue(ctx, client)
			if err != nil && ctx.Err() == nil {
				s.log.Error("deliver webhooks", keyErr, err)
			}
			if n < s.hooks.Concurrency {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.hookWake:
		}
	}
}

// DeliverDueWebhooks attempts the deliveries due now once (tests drive
// delivery with it and a mock clock); it returns how many it attempted.
func (s *Service) DeliverDueWebhooks(ctx context.Context) (int, error) {
	return s.deliverDue(ctx, s.webhookClient())
}

func (s *Service) deliverDue(ctx context.Context, client *http.Client) (int, error) {
	ds, err := s.st.ClaimWebhookDeliveries(ctx, s.now(), s.hooks.Lease, s.hooks.Concurrency)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() { s.attempt(ctx, client, d) })
	}
	wg.Wait()
	return len(ds), nil
}

// attempt POSTs one delivery and records its outcome.
func (s *Service) attempt(ctx context.Context, client *http.Client, d codepod.WebhookDelivery) {
	o := codepod.WebhookOutcome{DisableAfter: s.hooks.DisableAfter}
	ep, err := s.st.Webhook(ctx, "", d.EndpointID)
	switch {
	case err != nil:
		o.Error = "the endpoint is gone"
	case ep.Disabled:
		o.Error = "the endpoint is disabled"
	default:
		o = s.post(ctx, client, ep, d)
	}
	if o.Status < 200 || o.Status >= 300 {
		if d.Attempts <= len(s.hooks.Retries) && ep != nil && !ep.Disabled {
			wait := s.hooks.Retries[d.Attempts-1]
			wait = time.Duration(float64(wait) * (0.8 + 0.4*mrand.Float64()))
			o.Next = s.now().Add(wait)
		}
	}
	applied, err := s.st.FinishWebhookDelivery(ctx, d.ID, d.Attempts, s.now(), o)
	if err != nil {
		s.log.Error("record webhook delivery", "delivery_id", d.ID, keyErr, err)
		return
	}
	if applied {
		s.metrics.webhooks.WithLabelValues(outcomeLabel(o)).Inc()
		s.log.Info("webhook delivery attempted", "delivery_id", d.ID, "endpoint_id", d.EndpointID, "event", d.EventType,
			"attempt", d.Attempts, "status", o.Status, "error", o.Error, "next", o.Next)
	}
}

func outcomeLabel(o codepod.WebhookOutcome) string {
	switch {
	case o.Status >= 200 && o.Status < 300:
		return "succeeded"
	case !o.Next.IsZero():
		return "retry"
	}
	return "failed"
}

func (s *Service) post(ctx context.Context, client *http.Client, ep *codepod.WebhookEndpoint, d codepod.WebhookDelivery) codepod.WebhookOutcome {
	var o codepod.WebhookOutcome
	o.DisableAfter = s.hooks.DisableAfter
	ts := s.now().Unix()
	sig := SignWebhook(ep.Secret, d.EventID, ts, d.Payload)
	if ep.PreviousSecret != "" && ep.PreviousUntil != nil && s.now().Before(*ep.PreviousUntil) {
		sig += " " + SignWebhook(ep.PreviousSecret, d.EventID, ts, d.Payload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.Payload))
	if err != nil {
		o.Error = err.Error()
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CodePod-Webhooks/1")
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	resp, err := client.Do(req)
	o.Latency = time.Since(start)
	if err != nil {
		o.Error = trimErr(err)
		return o
	}
	defer resp.Body.Close()
	o.Status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, webhookBodyLog))
		o.Error = strings.TrimSpace(string(b))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return o
}

func trimErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > webhookBodyLog {
		s = s[:webhookBodyLog]
	}
	return s
}

// CreateWebhook adds an endpoint for caller; the secret is in the
// returned value (and never shown again).
func (s *Service) CreateWebhook(ctx context.Context, caller *codepod.User, rawURL, description string, events []string) (*codepod.WebhookEndpoint, error) {
	if err := s.CheckWebhookURL(rawURL); err != nil {
		return nil, err
	}
	if err := checkEventTypes(events); err != nil {
		return nil, err
	}
	have, err := s.st.ListWebhooks(ctx, caller.WorkspaceOf())
	if err != nil {
		return nil, err
	}
	if len(have) >= MaxWebhooksPerUser {
		return nil, codepod.Errorf(codepod.ECONFLICT, "you have %d webhook endpoints, the most a user may have; delete one first", len(have))
	}
	e := &codepod.WebhookEndpoint{OwnerID: caller.ID, WorkspaceID: caller.WorkspaceOf(), URL: rawURL, Description: description, Events: events,
		Secret: NewWebhookSecret(), CreatedAt: s.now()}
	if err := s.st.CreateWebhook(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

func checkEventTypes(events []string) error {
	for _, e := range events {
		ok := false
		for _, t := range codepod.WebhookEventTypes {
			ok = ok || e == t
		}
		if !ok {
			return codepod.Errorf(codepod.EINVALID, "event type %q is not one of %s", e, strings.Join(codepod.WebhookEventTypes, ", "))
		}
	}
	return nil
}

// UpdateWebhook changes an endpoint of ownerID.
func (s *Service) UpdateWebhook(ctx context.Context, ownerID, id string, u codepod.WebhookUpdate) (*codepod.WebhookEndpoint, error) {
	if u.URL != nil {
		if err := s.CheckWebhookURL(*u.URL); err != nil {
			return nil, err
		}
	}
	if u.Events != nil {
		if err := checkEventTypes(*u.Events); err != nil {
			return nil, err
		}
	}
	return s.st.UpdateWebhook(ctx, ownerID, id, u)
}

// RotateWebhookSecret gives an endpoint a new secret; the old one still
// signs (beside the new) until keepOld has passed.
func (s *Service) RotateWebhookSecret(ctx context.Context, ownerID, id string, keepOld time.Duration) (*codepod.WebhookEndpoint, error) {
	secret := NewWebhookSecret()
	until := s.now().Add(keepOld)
	return s.st.UpdateWebhook(ctx, ownerID, id, codepod.WebhookUpdate{Secret: &secret, PreviousUntil: &until})
}

// TestWebhook sends a webhook.test event to one endpoint.
func (s *Service) TestWebhook(ctx context.Context, ownerID, id string) (string, error) {
	ep, err := s.st.Webhook(ctx, ownerID, id)
	if err != nil {
		return "", err
	}
	if ep.Disabled {
		return "", codepod.Errorf(codepod.ECONFLICT, "webhook %s is disabled (%s); enable it first", id, ep.DisabledReason)
	}
	at := s.now().UTC()
	body, _ := json.Marshal(map[string]any{"type": codepod.EventWebhookTest, "timestamp": at.Format(time.RFC3339Nano),
		"data": map[string]any{"webhook_id": id}})
	ev := &codepod.WebhookEvent{OwnerID: ep.WorkspaceID, Type: codepod.EventWebhookTest, Payload: body, CreatedAt: at}
	err = s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		_, err := tx.EmitWebhookEvent(ctx, ev, id)
		out.webhooks = true
		return err
	})
	return ev.ID, err
}

// Redeliver makes a delivery of an endpoint of ownerID due now.
func (s *Service) Redeliver(ctx context.Context, ownerID, endpointID, id string) (*codepod.WebhookDelivery, error) {
	if _, err := s.st.Webhook(ctx, ownerID, endpointID); err != nil {
		return nil, err
	}
	d, err := s.st.RedeliverWebhook(ctx, endpointID, id, s.now())
	if err == nil {
		s.wakeWebhooks()
	}
	return d, err
}

func (s *Service) wakeWebhooks() {
	select {
	case s.hookWake <- struct{}{}:
	default:
	}
}

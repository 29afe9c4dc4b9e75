package codepod

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Outcomes of an audit event.
const (
	AuditOK = "ok"
)

// AuditEvent is one entry of the audit log (docs/audit.md): who did what to
// what, when, from where, and how it ended. Entries form a hash chain: Hash
// is AuditHash(PrevHash, the entry), so editing or deleting a row breaks the
// chain at that row.
type AuditEvent struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	ActorUserID string    `json:"actor_user_id"`
	ActorKeyID  string    `json:"actor_key_id"`
	WorkspaceID string    `json:"workspace_id"`
	ClientAddr  string    `json:"client_addr"`
	RequestID   string    `json:"request_id"`
	Action      string    `json:"action"`
	TargetType  string    `json:"target_type"`
	TargetID    string    `json:"target_id"`
	Outcome     string    `json:"outcome"`
	Detail      string    `json:"detail"` // small JSON object as text, "" for none
	PrevHash    string    `json:"prev_hash"`
	Hash        string    `json:"hash"`
}

// AuditTimeLayout is how an event's time enters its hash: UTC, microseconds
// (what both databases keep).
const AuditTimeLayout = "2006-01-02T15:04:05.000000Z"

// AuditHash is the hash of e chained to prevHash: hex SHA-256 over prevHash,
// a newline and a canonical JSON array of e's fields (every field but the
// hashes, in a fixed order, the time in AuditTimeLayout).
func AuditHash(prevHash string, e *AuditEvent) string {
	fields := []any{e.Seq, e.Time.UTC().Format(AuditTimeLayout), e.ActorUserID, e.ActorKeyID, e.WorkspaceID,
		e.ClientAddr, e.RequestID, e.Action, e.TargetType, e.TargetID, e.Outcome, e.Detail}
	b, _ := json.Marshal(fields)
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write([]byte{'\n'})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditHead is the chain's head: the last entry appended (Seq, Hash), and
// the anchor retention left (the seq and hash of the last entry it deleted;
// 0 and "" when nothing was ever pruned). Verification starts at the anchor.
type AuditHead struct {
	Seq        int64  `json:"seq"`
	Hash       string `json:"hash"`
	AnchorSeq  int64  `json:"anchor_seq"`
	AnchorHash string `json:"anchor_hash"`
}

// AuditFilter narrows ListAudit. Empty fields match everything.
type AuditFilter struct {
	Since, Until time.Time
	ActorUserID  string
	Action       string
	WorkspaceID  string
	TargetType   string
	TargetID     string
	// AfterSeq starts after this seq (the cursor); Limit as in Page.
	AfterSeq int64
	Limit    int
}

// AuditStore is the audit log's part of Store. Entries are appended by
// the store itself, in the transaction of the change they record (see
// WithPendingAudit), or by AppendAudit.
type AuditStore interface {
	// AppendAudit appends e (assigning Seq, Time when zero, PrevHash and
	// Hash) in the current transaction, or in one of its own.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// FlushAudit writes p's entry, unless something wrote it already, in a
	// transaction of its own that the entries flushed at the same moment
	// share (a group commit), and returns once it is committed; p is then
	// marked written. For a request that changed nothing in the store.
	FlushAudit(ctx context.Context, p *PendingAudit) error
	// ListAudit returns entries oldest first (by seq) and the seq to pass as
	// AfterSeq for the next page (0 when this is the last).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, int64, error)
	// AuditHead returns the chain's head and anchor.
	AuditHead(ctx context.Context) (AuditHead, error)
	// PruneAudit deletes entries older than before, moving the anchor to the
	// last one deleted; it returns how many.
	PruneAudit(ctx context.Context, before time.Time) (int, error)
}

// AuditVerifier checks a chain fed to it in seq order, from the anchor.
type AuditVerifier struct {
	prevSeq  int64
	prevHash string
	n        int
	// Bad is the seq of the first entry that does not fit (0: none yet), and
	// Problem says why.
	Bad     int64
	Problem string
}

// NewAuditVerifier starts a verification at the head's anchor.
func NewAuditVerifier(h AuditHead) *AuditVerifier {
	return &AuditVerifier{prevSeq: h.AnchorSeq, prevHash: h.AnchorHash}
}

// Add checks the next entry; it returns false once the chain is broken.
func (v *AuditVerifier) Add(e *AuditEvent) bool {
	if v.Bad != 0 {
		return false
	}
	switch {
	case e.Seq != v.prevSeq+1:
		v.fail(v.prevSeq+1, fmt.Sprintf("entry %d is missing (the next entry is %d): a row was deleted", v.prevSeq+1, e.Seq))
	case e.PrevHash != v.prevHash:
		v.fail(e.Seq, fmt.Sprintf("entry %d does not chain to entry %d (prev_hash differs): a row was deleted or replaced", e.Seq, v.prevSeq))
	case AuditHash(e.PrevHash, e) != e.Hash:
		v.fail(e.Seq, fmt.Sprintf("entry %d does not match its hash: the row was edited", e.Seq))
	default:
		v.prevSeq, v.prevHash = e.Seq, e.Hash
		v.n++
		return true
	}
	return false
}

// Finish checks that the chain ends at the head; it returns whether the
// whole chain is intact.
func (v *AuditVerifier) Finish(h AuditHead) bool {
	if v.Bad != 0 {
		return false
	}
	if v.prevSeq != h.Seq || v.prevHash != h.Hash {
		v.fail(v.prevSeq+1, fmt.Sprintf("the chain ends at entry %d but its head is entry %d: the last rows were deleted or edited", v.prevSeq, h.Seq))
		return false
	}
	return true
}

// Checked is how many entries verified.
func (v *AuditVerifier) Checked() int { return v.n }

func (v *AuditVerifier) fail(seq int64, msg string) { v.Bad, v.Problem = seq, msg }

// PendingAudit is the audit entry of one request, waiting for the store
// transaction that makes its change: the store appends it in the first
// transaction that commits under the request's context, and marks it
// written once that transaction committed.
type PendingAudit struct {
	mu      sync.Mutex
	event   AuditEvent
	written bool
}

type pendingAuditKey struct{}

// WithPendingAudit returns ctx carrying p.
func WithPendingAudit(ctx context.Context, p *PendingAudit) context.Context {
	return context.WithValue(ctx, pendingAuditKey{}, p)
}

// NewPendingAudit makes a pending entry of e.
func NewPendingAudit(e AuditEvent) *PendingAudit { return &PendingAudit{event: e} }

// PendingAuditOf returns the unwritten pending entry ctx carries, or nil.
func PendingAuditOf(ctx context.Context) *PendingAudit {
	p, _ := ctx.Value(pendingAuditKey{}).(*PendingAudit)
	if p == nil || p.Written() {
		return nil
	}
	return p
}

// Event returns a copy of the entry.
func (p *PendingAudit) Event() AuditEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.event
}

// Update changes the entry (before it is written).
func (p *PendingAudit) Update(fn func(e *AuditEvent)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.event)
}

// Written reports whether a committed transaction holds the entry.
func (p *PendingAudit) Written() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}

// Discard makes sure nothing writes the entry any more (its request
// failed: a transaction still running under its context must not record it).
func (p *PendingAudit) Discard() { p.MarkWritten() }

// MarkWritten records that the transaction holding the entry committed.
func (p *PendingAudit) MarkWritten() {
	p.mu.Lock()
	p.written = true
	p.mu.Unlock()
}

// VerifyAudit recomputes the chain st holds, from its anchor to its head
// (as read when it starts), and returns the verifier: Bad is 0 when the
// chain is intact, else the seq of the first entry that does not fit.
func VerifyAudit(ctx context.Context, st AuditStore) (*AuditVerifier, error) {
	h, err := st.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	v := NewAuditVerifier(h)
	after := int64(0)
	for {
		page, next, err := st.ListAudit(ctx, AuditFilter{AfterSeq: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for i := range page {
			if page[i].Seq > h.Seq {
				v.Finish(h)
				return v, nil
			}
			if !v.Add(&page[i]) {
				return v, nil
			}
		}
		if next == 0 {
			v.Finish(h)
			return v, nil
		}
		after = next
	}
}

// SetAuditTarget names the target of ctx's pending entry once the change
// knows it (the id of what a create made, the id a name resolved to). It
// sets it when the entry has no target yet or one of the same type, and
// sets the actor when the entry has none (a login creates its user's key).
func SetAuditTarget(ctx context.Context, typ, id, actorUserID string) {
	p := PendingAuditOf(ctx)
	if p == nil {
		return
	}
	p.Update(func(e *AuditEvent) {
		if e.TargetType == "" || e.TargetType == typ {
			e.TargetType, e.TargetID = typ, id
		}
		if e.ActorUserID == "" {
			e.ActorUserID = actorUserID
		}
	})
}

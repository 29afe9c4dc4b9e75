package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/codepod-dev/codepod/internal/wakeup"
)

// HubChannel is the PostgreSQL channel a Hub NOTIFYs and LISTENs on; the
// payload of a notification is a runner id.
const HubChannel = "codepod_jobs"

// Hub timings.
const (
	hubNotifyTimeout = 5 * time.Second
	hubMinBackoff    = 100 * time.Millisecond
	hubMaxBackoff    = 10 * time.Second
)

// Hub wakes waiting runner polls across server replicas on one PostgreSQL
// database. It has the methods of control.Hub (Wait, Notify), so a server
// passes it as control.Config.Hub.
//
// Notify wakes this process's waiters at once and sends
// `pg_notify('codepod_jobs', runnerID)`; a goroutine LISTENing on a
// dedicated connection wakes this process's waiters for every notification
// (its own included, which costs a waiting poll one extra claim). When the
// listener's connection drops it reconnects with backoff and then wakes
// every waiter, since notifications sent meanwhile are lost. A missed
// wake-up only delays a job until the poll's wait ends: the database stays
// the truth.
type Hub struct {
	db     *DB
	log    *slog.Logger
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the listener has stopped

	waiters wakeup.Set // by runner id
}

// NewHub connects a listener to db's PostgreSQL database and returns the
// Hub; Close stops it. ctx bounds only the first connection. On SQLite it
// is an error: one process needs no more than control's local hub.
func (db *DB) NewHub(ctx context.Context, logger *slog.Logger) (*Hub, error) {
	if db.pgConfig == nil {
		return nil, fmt.Errorf("new hub: LISTEN/NOTIFY needs PostgreSQL, not %s", db.dialect)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conn, err := db.listen(ctx)
	if err != nil {
		return nil, err
	}
	h := &Hub{db: db, log: logger, done: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	go h.run(conn)
	return h, nil
}

// Wait returns a channel that is closed by the next Notify of runnerID,
// on any replica.
func (h *Hub) Wait(runnerID string) <-chan struct{} { return h.waiters.Wait(runnerID) }

// Notify wakes runnerID's waiting polls here at once and on the other
// replicas through pg_notify. A failed pg_notify is logged: the other
// replicas' polls then take the job when their wait ends.
func (h *Hub) Notify(runnerID string) {
	h.wake(runnerID)
	ctx, cancel := context.WithTimeout(h.ctx, hubNotifyTimeout)
	defer cancel()
	if _, err := h.db.bun.ExecContext(ctx, "SELECT pg_notify(?, ?)", HubChannel, runnerID); err != nil && h.ctx.Err() == nil {
		h.log.Warn("notify other replicas of a job", "runner_id", runnerID, "err", err)
	}
}

// Close stops the listener and closes its connection. It does not close
// the DB.
func (h *Hub) Close() error {
	h.cancel()
	<-h.done
	return nil
}

// wake closes runnerID's wait channel, if a poll waits on it.
func (h *Hub) wake(runnerID string) { h.waiters.Wake(runnerID) }

// wakeAll wakes every waiting poll.
func (h *Hub) wakeAll() { h.waiters.WakeAll() }

// listen opens a dedicated connection that LISTENs on HubChannel.
func (db *DB) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.pgConfig)
	if err != nil {
		return nil, fmt.Errorf("connect the job listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+HubChannel); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("listen on %s: %w", HubChannel, err)
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// run receives notifications until Close, reconnecting with backoff when
// the connection fails.
func (h *Hub) run(conn *pgx.Conn) {
	defer close(h.done)
	backoff := hubMinBackoff
	for {
		if conn == nil {
			var err error
			if conn, err = h.db.listen(h.ctx); err != nil {
				if h.ctx.Err() != nil {
					return
				}
				h.log.Warn("job listener: reconnect failed", "retry_in", backoff, "err", err)
				if !sleepCtx(h.ctx, backoff) {
					return
				}
				backoff = min(2*backoff, hubMaxBackoff)
				continue
			}
			h.log.Info("job listener reconnected")
			backoff = hubMinBackoff
			h.wakeAll() // notifications sent while it was down are lost
		}
		n, err := conn.WaitForNotification(h.ctx)
		if err != nil {
			closeConn(conn)
			conn = nil
			if h.ctx.Err() != nil {
				return
			}
			h.log.Warn("job listener: connection lost", "err", err)
			continue
		}
		h.wake(n.Payload)
	}
}

// sleepCtx sleeps d, or less when ctx ends first; it reports whether ctx
// is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

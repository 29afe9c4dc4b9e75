package store

import (
	"context"
	"crypto/rand"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type portRow struct {
	bun.BaseModel `bun:"table:sandbox_ports,alias:sp"`

	SandboxID string    `bun:"sandbox_id,pk"`
	Port      int       `bun:"port,pk"`
	Public    bool      `bun:"public"`
	Label     string    `bun:"label"`
	Secret    []byte    `bun:"secret"`
	CreatedAt time.Time `bun:"created_at"`
}

func (r *portRow) port() codepod.SandboxPort {
	return codepod.SandboxPort{SandboxID: r.SandboxID, Port: r.Port, Public: r.Public, Label: r.Label,
		Secret: r.Secret, CreatedAt: r.CreatedAt.UTC()}
}

// OpenPort inserts p, or updates the Public and Label of the port already
// open (keeping its secret, so links minted before stay valid).
func (db *DB) OpenPort(ctx context.Context, p *codepod.SandboxPort) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.OpenPort(ctx, p) })
	}
	if len(p.Secret) == 0 {
		p.Secret = make([]byte, 32)
		rand.Read(p.Secret)
	}
	stamp(&p.CreatedAt, now())
	row := portRow{SandboxID: p.SandboxID, Port: p.Port, Public: p.Public, Label: p.Label,
		Secret: p.Secret, CreatedAt: dbTime(p.CreatedAt)}
	_, err := db.idb.NewInsert().Model(&row).
		On("CONFLICT (sandbox_id, port) DO UPDATE").
		Set("public = EXCLUDED.public").Set("label = EXCLUDED.label").Exec(ctx)
	if err != nil {
		return dbError(err, "open port", nil)
	}
	got, err := db.SandboxPort(ctx, p.SandboxID, p.Port)
	if err != nil {
		return err
	}
	*p = *got
	return nil
}

// SandboxPort returns one open port.
func (db *DB) SandboxPort(ctx context.Context, sandboxID string, port int) (*codepod.SandboxPort, error) {
	var row portRow
	err := db.idb.NewSelect().Model(&row).Where("sandbox_id = ?", sandboxID).Where("port = ?", port).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "get port", "port", sandboxID+":"+strconv.Itoa(port))
	}
	p := row.port()
	return &p, nil
}

// SandboxPorts lists a sandbox's open ports.
func (db *DB) SandboxPorts(ctx context.Context, sandboxID string) ([]codepod.SandboxPort, error) {
	var rows []portRow
	err := db.scanAll(ctx, "sandbox_ports", func(arg func(int) any) *bun.SelectQuery {
		return db.idb.NewSelect().Model(&rows).Where("sandbox_id = ?", arg(0)).Order("port")
	}, sandboxID)
	if err != nil {
		return nil, dbError(err, "list ports", nil)
	}
	return convert(rows, (*portRow).port), nil
}

// ClosePort deletes an open port.
func (db *DB) ClosePort(ctx context.Context, sandboxID string, port int) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.ClosePort(ctx, sandboxID, port) })
	}
	res, err := db.idb.NewDelete().Model((*portRow)(nil)).Where("sandbox_id = ?", sandboxID).Where("port = ?", port).Exec(ctx)
	return mustAffect(res, err, "close port", "port", sandboxID+":"+strconv.Itoa(port))
}

// TouchSandbox moves idle_at forward to at; see codepod.Store.
func (db *DB) TouchSandbox(ctx context.Context, id string, at time.Time) error {
	at = dbTime(at)
	res, err := db.idb.NewUpdate().Model((*sandboxRow)(nil)).
		Set("idle_at = CASE WHEN idle_at < ? THEN ? ELSE idle_at END", at, at).
		Where("id = ?", id).Exec(ctx)
	return mustAffect(res, err, "touch sandbox", "sandbox", id)
}

// IdleSandboxes returns running sandboxes whose idle_at passed.
func (db *DB) IdleSandboxes(ctx context.Context, now time.Time, limit int) ([]codepod.Sandbox, error) {
	var rows []sandboxRow
	err := db.idb.NewSelect().Model(&rows).
		Where("idle_at IS NOT NULL").Where("idle_at < ?", dbTime(now)).
		Where("status = ?", string(codepod.SandboxRunning)).
		Order("idle_at", "id").Limit(int64(pageLimit(limit))).Scan(ctx)
	if err != nil {
		return nil, dbError(err, "list idle sandboxes", nil)
	}
	return convert(rows, (*sandboxRow).sandbox), nil
}

package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// pageLimit returns the page size n asks for, defaulted and capped.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// cursor is the key of the last row of a page: rows are listed by
// (created_at, id), oldest first.
type cursor struct {
	createdAt time.Time
	id        string
}

func (c cursor) encode() string {
	raw := strconv.FormatInt(c.createdAt.UnixMicro(), 10) + "|" + c.id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (cursor, error) {
	bad := codepod.Errorf(codepod.EINVALID, "cursor %q is not valid: pass the next cursor of the previous page", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	micros, id, ok := strings.Cut(string(raw), "|")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, bad
	}
	return cursor{createdAt: time.UnixMicro(us).UTC(), id: id}, nil
}

// paginate orders q by (created_at, id), starts it after p's cursor, and
// fetches one row more than the page so the caller knows if another follows.
func paginate(q *bun.SelectQuery, alias string, p codepod.Page) (*bun.SelectQuery, error) {
	col := func(name string) bun.Ident { return bun.Ident(alias + "." + name) }
	if alias == "" {
		col = func(name string) bun.Ident { return bun.Ident(name) }
	}
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		q = q.Where("(? > ? OR (? = ? AND ? > ?))",
			col("created_at"), c.createdAt, col("created_at"), c.createdAt, col("id"), c.id)
	}
	return q.OrderExpr("? ASC, ? ASC", col("created_at"), col("id")).Limit(int64(pageLimit(p.Limit) + 1)), nil
}

// keyed is a row listed by (created_at, id).
type keyed interface{ pageKey() (time.Time, string) }

// listPage runs q (a select into rows) for page p and returns the rows
// converted by conv, with the cursor of the next page ("" on the last).
func listPage[R keyed, T any](ctx context.Context, q *bun.SelectQuery, rows *[]R, alias string,
	p codepod.Page, op string, conv func(*R) T) ([]T, string, error) {
	q, err := paginate(q, alias, p)
	if err != nil {
		return nil, "", err
	}
	if err := q.Scan(ctx); err != nil {
		return nil, "", dbError(err, op, nil)
	}
	next := ""
	if n := pageLimit(p.Limit); len(*rows) > n {
		*rows = (*rows)[:n]
		t, id := (*rows)[n-1].pageKey()
		next = cursor{createdAt: t, id: id}.encode()
	}
	return convert(*rows, conv), next, nil
}

// convert maps rows to domain values.
func convert[R, T any](rows []R, conv func(*R) T) []T {
	out := make([]T, len(rows))
	for i := range rows {
		out[i] = conv(&rows[i])
	}
	return out
}

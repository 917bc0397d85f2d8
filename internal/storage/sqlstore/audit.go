package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.AuditLog = (*Store)(nil)

const auditColumns = "type, at, user_id, other_user_id, session_id, app, actor, ip, detail"

// auditChunks are the row counts of the INSERT statements AppendAudit
// prepares, largest first: a batch goes in as a few of them (128 = 2 × 64)
// in one transaction. Preparing a 64-row INSERT anew for every batch took a
// fifth of the writer's time; a statement per batch size would be up to a
// hundred prepared statements per connection.
var auditChunks = []int{64, 16, 4, 1}

// auditInsert is the INSERT of n rows, with ? placeholders.
func auditInsert(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO audit_events (" + auditColumns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// AppendAudit implements [storage.AuditLog.AppendAudit]: a few prepared
// multi-row INSERTs in one transaction.
func (s *Store) AppendAudit(ctx context.Context, events []storage.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	for i, e := range events {
		if e.Type == "" {
			return fmt.Errorf("sqlstore: append audit: event %d has no type", i)
		}
	}
	if err := s.wgate.enter(ctx); err != nil {
		return err
	}
	defer s.wgate.leave()
	// The statements are prepared before the transaction takes the
	// connection: SQLite's writer pool has only one.
	var plan []*sql.Stmt
	for rest := len(events); rest > 0; {
		n := 1
		for _, c := range auditChunks {
			if c <= rest {
				n = c
				break
			}
		}
		st, err := s.writes.stmt(ctx, s.q(auditInsert(n)))
		if err != nil {
			return fmt.Errorf("sqlstore: append %d audit events: %w", len(events), s.d.mapError(err))
		}
		plan = append(plan, st)
		rest -= n
	}
	args := make([]any, 0, 9*auditChunks[0])
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rest := events
		for _, st := range plan {
			n := min(len(rest), auditChunks[0])
			for _, c := range auditChunks {
				if c <= len(rest) {
					n = c
					break
				}
			}
			args = args[:0]
			for _, e := range rest[:n] {
				args = append(args, e.Type, dbTime(e.At), e.UserID, e.OtherUserID, e.SessionID, e.App, e.Actor, e.IP, e.Detail)
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return s.d.mapError(err)
			}
			rest = rest[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: append %d audit events: %w", len(events), err)
	}
	return nil
}

// AuditEvents implements [storage.AuditLog.AuditEvents].
func (s *Store) AuditEvents(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	if q.Limit <= 0 {
		return nil, errors.New("sqlstore: audit events: Limit must be positive")
	}
	var (
		where []string
		args  []any
	)
	if q.UserID != "" {
		where = append(where, "(user_id = ? OR other_user_id = ?)")
		args = append(args, q.UserID, q.UserID)
	}
	if q.Type != "" {
		where = append(where, "type = ?")
		args = append(args, q.Type)
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, dbTime(q.Since))
	}
	if q.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, q.Before)
	}
	query := "SELECT id, " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, q.Limit)
	if err := s.rgate.enter(ctx); err != nil {
		return nil, err
	}
	defer s.rgate.leave()
	// At most 16 shapes of query: prepared once each.
	rows, err := s.reads.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit events: %w", s.d.mapError(err))
	}
	defer rows.Close()
	var out []storage.AuditEvent
	for rows.Next() {
		var (
			e  storage.AuditEvent
			at int64
		)
		if err := rows.Scan(&e.ID, &e.Type, &at, &e.UserID, &e.OtherUserID, &e.SessionID, &e.App, &e.Actor, &e.IP, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlstore: audit events: %w", s.d.mapError(err))
		}
		e.At = goTime(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: audit events: %w", s.d.mapError(err))
	}
	return out, nil
}

// purgeChunk bounds one DELETE of PurgeAudit, so that a first purge of a
// large table neither holds SQLite's writer nor PostgreSQL's statement
// timeout for long.
const purgeChunk = 5000

// PurgeAudit implements [storage.AuditLog.PurgeAudit], in chunks.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.purgeAuditChunk(ctx, before)
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlstore: purge audit events: %w", err)
		}
		if n < purgeChunk {
			return total, nil
		}
	}
}

func (s *Store) purgeAuditChunk(ctx context.Context, before time.Time) (int64, error) {
	if err := s.wgate.enter(ctx); err != nil {
		return 0, err
	}
	defer s.wgate.leave()
	res, err := s.wdb.ExecContext(ctx, s.q(fmt.Sprintf(
		"DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ? ORDER BY id LIMIT %d)", purgeChunk)),
		dbTime(before))
	if err != nil {
		return 0, s.d.mapError(err)
	}
	n, err := res.RowsAffected()
	return n, s.d.mapError(err)
}

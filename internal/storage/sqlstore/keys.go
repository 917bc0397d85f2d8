package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxauth/wxauth/internal/storage"
)

// AddSigningKey implements [storage.SigningKeys.AddSigningKey]. The id is
// the table's primary key: a duplicate is [storage.ErrConflict].
func (s *Store) AddSigningKey(ctx context.Context, k storage.SigningKey) error {
	if k.ID == "" || len(k.Sealed) == 0 {
		return errors.New("sqlstore: add signing key: ID and Sealed are required")
	}
	if err := s.wgate.enter(ctx); err != nil {
		return err
	}
	defer s.wgate.leave()
	if _, err := s.wdb.ExecContext(ctx, s.q("INSERT INTO signing_keys (id, sealed, created_at, active_at) VALUES (?, ?, ?, ?)"),
		k.ID, k.Sealed, dbTime(k.CreatedAt), dbTime(k.ActiveAt)); err != nil {
		return fmt.Errorf("sqlstore: add signing key %q: %w", k.ID, s.d.mapError(err))
	}
	return nil
}

// SigningKeys implements [storage.SigningKeys.SigningKeys]: newest ActiveAt
// first, ties by id.
func (s *Store) SigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	if err := s.rgate.enter(ctx); err != nil {
		return nil, err
	}
	defer s.rgate.leave()
	rows, err := s.reads.QueryContext(ctx, "SELECT id, sealed, created_at, active_at FROM signing_keys ORDER BY active_at DESC, id")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: signing keys: %w", s.d.mapError(err))
	}
	defer rows.Close()
	var out []storage.SigningKey
	for rows.Next() {
		var (
			k                   storage.SigningKey
			createdAt, activeAt int64
		)
		if err := rows.Scan(&k.ID, &k.Sealed, &createdAt, &activeAt); err != nil {
			return nil, fmt.Errorf("sqlstore: signing keys: %w", s.d.mapError(err))
		}
		k.CreatedAt, k.ActiveAt = goTime(createdAt), goTime(activeAt)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: signing keys: %w", s.d.mapError(err))
	}
	return out, nil
}

// DeleteSigningKey implements [storage.SigningKeys.DeleteSigningKey].
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	if err := s.wgate.enter(ctx); err != nil {
		return err
	}
	defer s.wgate.leave()
	res, err := s.wdb.ExecContext(ctx, s.q("DELETE FROM signing_keys WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete signing key %q: %w", id, s.d.mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: delete signing key %q: %w", id, s.d.mapError(err))
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: signing key %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

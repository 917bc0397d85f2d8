package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.UserAdmin = (*Store)(nil)

// identitiesOf lists a user's identities inside tx, oldest first.
func (s *Store) identitiesOf(ctx context.Context, q queryer, where string, arg string) ([]storage.Identity, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT "+identityColumns+" FROM identities WHERE "+where), arg)
	if err != nil {
		return nil, s.d.mapError(err)
	}
	defer rows.Close()
	var out []storage.Identity
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, s.d.mapError(err)
		}
		out = append(out, id)
	}
	return out, s.d.mapError(rows.Err())
}

// DeleteUser implements [storage.UserAdmin.DeleteUser] in one write
// transaction. Identities and unionids are deleted explicitly, not left to
// ON DELETE CASCADE, so that the result does not depend on the foreign-key
// setting of a SQLite connection.
func (s *Store) DeleteUser(ctx context.Context, id string) (storage.User, []storage.Identity, error) {
	if err := s.wgate.enter(ctx); err != nil {
		return storage.User{}, nil, err
	}
	defer s.wgate.leave()
	var (
		u   storage.User
		ids []storage.Identity
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if u, err = s.getUser(ctx, tx, id); err != nil {
			return err
		}
		if ids, err = s.identitiesOf(ctx, tx, "user_id = ? ORDER BY created_at, app_id, open_id", id); err != nil {
			return fmt.Errorf("sqlstore: delete user %q: %w", id, err)
		}
		// The user row first: of concurrent deletes (PostgreSQL at READ
		// COMMITTED lets them all read it above), one removes it.
		if err := s.deleteUserRow(ctx, tx, id); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM identities WHERE user_id = ?",
			"DELETE FROM unions WHERE user_id = ?",
			"UPDATE users SET inviter_id = '' WHERE inviter_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, s.q(q), id); err != nil {
				return fmt.Errorf("sqlstore: delete user %q: %w", id, s.d.mapError(err))
			}
		}
		return nil
	})
	if err != nil {
		return storage.User{}, nil, err
	}
	return u, ids, nil
}

// deleteUserRow deletes one user row; ErrNotFound when a concurrent call
// removed it first.
func (s *Store) deleteUserRow(ctx context.Context, tx *sql.Tx, id string) error {
	r, err := tx.ExecContext(ctx, s.q("DELETE FROM users WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete user %q: %w", id, s.d.mapError(err))
	}
	n, err := r.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: delete user %q: %w", id, s.d.mapError(err))
	}
	if n != 1 {
		return fmt.Errorf("sqlstore: user %q: %w", id, storage.ErrNotFound)
	}
	return nil
}

// MergeUsers implements [storage.UserAdmin.MergeUsers] in one write
// transaction. Users invited by from are then invited by into.
func (s *Store) MergeUsers(ctx context.Context, into, from string, now time.Time) (storage.User, error) {
	if into == from {
		return storage.User{}, fmt.Errorf("sqlstore: merge user %q into itself: %w", into, storage.ErrInvalid)
	}
	if err := s.wgate.enter(ctx); err != nil {
		return storage.User{}, err
	}
	defer s.wgate.leave()
	var next storage.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		dst, err := s.getUser(ctx, tx, into)
		if err != nil {
			return err
		}
		src, err := s.getUser(ctx, tx, from)
		if err != nil {
			return err
		}
		for _, q := range []string{
			"UPDATE identities SET user_id = ? WHERE user_id = ?",
			"UPDATE unions SET user_id = ? WHERE user_id = ?",
			"UPDATE users SET inviter_id = ? WHERE inviter_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, s.q(q), into, from); err != nil {
				return fmt.Errorf("sqlstore: merge user %q into %q: %w", from, into, s.d.mapError(err))
			}
		}
		// from goes first: its phone is unique and may move to into.
		if err := s.deleteUserRow(ctx, tx, from); err != nil {
			return err
		}
		next = storage.MergedUser(dst, src, goTime(dbTime(now)))
		r, err := tx.ExecContext(ctx, s.q(`UPDATE users
			SET nickname = ?, avatar_url = ?, phone = ?, inviter_id = ?, updated_at = ?
			WHERE id = ?`),
			next.Nickname, next.AvatarURL, null(next.Phone), next.InviterID, dbTime(next.UpdatedAt), into)
		if err != nil {
			return fmt.Errorf("sqlstore: merge user %q into %q: %w", from, into, s.d.mapError(err))
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("sqlstore: user %q: %w", into, storage.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return storage.User{}, err
	}
	return next, nil
}

// UserByPhone implements [storage.UserAdmin.UserByPhone] with one read.
func (s *Store) UserByPhone(ctx context.Context, phone string) (storage.User, error) {
	if err := s.rgate.enter(ctx); err != nil {
		return storage.User{}, err
	}
	defer s.rgate.leave()
	u, err := scanUser(s.reads.QueryRowContext(ctx, s.q("SELECT "+userColumns+" FROM users WHERE phone = ?"), phone))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.User{}, fmt.Errorf("sqlstore: user by phone: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("sqlstore: user by phone: %w", s.d.mapError(err))
	}
	return u, nil
}

// IdentitiesByOpenID implements [storage.UserAdmin.IdentitiesByOpenID],
// ordered by app id.
func (s *Store) IdentitiesByOpenID(ctx context.Context, openID string) ([]storage.Identity, error) {
	if err := s.rgate.enter(ctx); err != nil {
		return nil, err
	}
	defer s.rgate.leave()
	out, err := s.identitiesOf(ctx, s.reads, "open_id = ? ORDER BY app_id", openID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: identities by openid: %w", err)
	}
	return out, nil
}

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

// Times are stored as Unix nanoseconds (INTEGER / BIGINT): exact, UTC, and
// the same in every dialect. 0 stands for the zero time.
func dbTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func goTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// null stores an empty string or slice as NULL.
func null[T string | []byte](v T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// queryer is what reads need of *sql.DB and *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const userColumns = "id, nickname, avatar_url, phone, inviter_id, disabled, created_at, updated_at"

func scanUser(row interface{ Scan(...any) error }) (storage.User, error) {
	var (
		u                    storage.User
		phone                sql.NullString
		createdAt, updatedAt int64
	)
	if err := row.Scan(&u.ID, &u.Nickname, &u.AvatarURL, &phone, &u.InviterID, &u.Disabled, &createdAt, &updatedAt); err != nil {
		return storage.User{}, err
	}
	u.Phone = phone.String
	u.CreatedAt, u.UpdatedAt = goTime(createdAt), goTime(updatedAt)
	return u, nil
}

const identityColumns = "app_id, open_id, union_id, user_id, created_at, updated_at"

func scanIdentity(row interface{ Scan(...any) error }) (storage.Identity, error) {
	var (
		id                   storage.Identity
		unionID              sql.NullString
		createdAt, updatedAt int64
	)
	if err := row.Scan(&id.AppID, &id.OpenID, &unionID, &id.UserID, &createdAt, &updatedAt); err != nil {
		return storage.Identity{}, err
	}
	id.UnionID = unionID.String
	id.CreatedAt, id.UpdatedAt = goTime(createdAt), goTime(updatedAt)
	return id, nil
}

func (s *Store) getUser(ctx context.Context, q queryer, id string) (storage.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, s.q("SELECT "+userColumns+" FROM users WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.User{}, fmt.Errorf("sqlstore: user %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("sqlstore: user %q: %w", id, s.d.mapError(err))
	}
	return u, nil
}

func (s *Store) getIdentity(ctx context.Context, q queryer, appID, openID string) (storage.Identity, error) {
	id, err := scanIdentity(q.QueryRowContext(ctx,
		s.q("SELECT "+identityColumns+" FROM identities WHERE app_id = ? AND open_id = ?"), appID, openID))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Identity{}, fmt.Errorf("sqlstore: identity %s/%s: %w", appID, openID, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Identity{}, fmt.Errorf("sqlstore: identity %s/%s: %w", appID, openID, s.d.mapError(err))
	}
	return id, nil
}

// errRace marks a conflict that a concurrent LinkIdentity caused (possible
// where writers are not serialised, as in PostgreSQL): the call starts over
// and finds what the other one stored.
var errRace = errors.New("sqlstore: concurrent link")

// LinkIdentity implements [storage.Users.LinkIdentity].
//
// A returning user, the common case, costs one prepared read on the read
// pool ([Store.lookup]): one round trip, no write, no commit. Only an
// identity that is new, or that is to learn its unionid, takes the write
// transaction ([Store.link]); where writers are not serialised
// (PostgreSQL at READ COMMITTED), a concurrent call that created the same
// identity or unionid first makes it fail on a unique key, and it starts
// over to find what the other stored.
//
// When an identity that had no unionid gets one already held by another
// user, the identity stays with its own user and the unionid keeps pointing
// at the first: users are never merged here.
func (s *Store) LinkIdentity(ctx context.Context, req storage.LinkRequest) (storage.LinkResult, error) {
	if req.Identity.AppID == "" || req.Identity.OpenID == "" {
		return storage.LinkResult{}, errors.New("sqlstore: link identity: AppID and OpenID are required")
	}
	if res, ok, err := s.lookup(ctx, req.Identity); ok || err != nil {
		return res, err
	}
	if err := s.wgate.enter(ctx); err != nil {
		return storage.LinkResult{}, err
	}
	defer s.wgate.leave()
	for range 3 {
		res, err := s.link(ctx, req)
		if !errors.Is(err, errRace) {
			return res, err
		}
	}
	return storage.LinkResult{}, fmt.Errorf("sqlstore: link identity %s/%s: %w", req.Identity.AppID, req.Identity.OpenID, storage.ErrConflict)
}

// lookupQuery reads an identity and its user in one statement.
const lookupQuery = `SELECT i.union_id, i.user_id, i.created_at, i.updated_at,
		u.nickname, u.avatar_url, u.phone, u.inviter_id, u.disabled, u.created_at, u.updated_at
	FROM identities i JOIN users u ON u.id = i.user_id
	WHERE i.app_id = ? AND i.open_id = ?`

// lookup is step 1 of LinkIdentity for an identity that is known and needs
// no change: ok is false when there is no such identity, or when it is to
// learn its unionid (in.UnionID is set and it has none), and [Store.link]
// takes over. Identities are never deleted but with their user, and never
// change user, so what this read finds stays true however the writers
// interleave.
func (s *Store) lookup(ctx context.Context, in storage.Identity) (res storage.LinkResult, ok bool, err error) {
	if err := s.rgate.enter(ctx); err != nil {
		return storage.LinkResult{}, false, err
	}
	defer s.rgate.leave()
	var (
		id                   = &res.Identity
		u                    = &res.User
		unionID, phone       sql.NullString
		idCreated, idUpdated int64
		uCreated, uUpdated   int64
	)
	err = s.reads.QueryRowContext(ctx, s.q(lookupQuery), in.AppID, in.OpenID).Scan(
		&unionID, &id.UserID, &idCreated, &idUpdated,
		&u.Nickname, &u.AvatarURL, &phone, &u.InviterID, &u.Disabled, &uCreated, &uUpdated)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.LinkResult{}, false, nil
	}
	if err != nil {
		return storage.LinkResult{}, false, fmt.Errorf("sqlstore: link identity %s/%s: %w", in.AppID, in.OpenID, s.d.mapError(err))
	}
	if !unionID.Valid && in.UnionID != "" {
		return storage.LinkResult{}, false, nil
	}
	id.AppID, id.OpenID, id.UnionID = in.AppID, in.OpenID, unionID.String
	id.CreatedAt, id.UpdatedAt = goTime(idCreated), goTime(idUpdated)
	u.ID, u.Phone = id.UserID, phone.String
	u.CreatedAt, u.UpdatedAt = goTime(uCreated), goTime(uUpdated)
	return res, true, nil
}

func (s *Store) link(ctx context.Context, req storage.LinkRequest) (storage.LinkResult, error) {
	in := req.Identity
	now := dbTime(req.Now)
	var res storage.LinkResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// 1. A known identity: found here when it is to learn its unionid,
		// or was linked by a concurrent call since the look-up.
		id, err := s.getIdentity(ctx, tx, in.AppID, in.OpenID)
		switch {
		case err == nil:
			if id.UnionID == "" && in.UnionID != "" {
				if _, err := tx.ExecContext(ctx, s.q(
					"INSERT INTO unions (union_id, user_id) VALUES (?, ?) ON CONFLICT (union_id) DO NOTHING"),
					in.UnionID, id.UserID); err != nil {
					return fmt.Errorf("sqlstore: link identity: %w", s.d.mapError(err))
				}
				// COALESCE: a concurrent call may have filled it in first.
				if id, err = scanIdentity(tx.QueryRowContext(ctx, s.q(`UPDATE identities
					SET union_id = COALESCE(union_id, ?), updated_at = ?
					WHERE app_id = ? AND open_id = ?
					RETURNING `+identityColumns),
					in.UnionID, now, in.AppID, in.OpenID)); err != nil {
					return fmt.Errorf("sqlstore: link identity: %w", s.d.mapError(err))
				}
			}
			res.Identity = id
			res.User, err = s.owner(ctx, tx, id.UserID)
			return err
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}

		// 2. Another identity of the same unionid.
		if in.UnionID != "" {
			var userID string
			err := tx.QueryRowContext(ctx, s.q("SELECT user_id FROM unions WHERE union_id = ?"), in.UnionID).Scan(&userID)
			switch {
			case err == nil:
				if res.User, err = s.owner(ctx, tx, userID); err != nil {
					return err
				}
				res.Identity, err = s.insertIdentity(ctx, tx, in, userID, now)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("sqlstore: link identity: %w", s.d.mapError(err))
			}
		}

		// 3. The user who has the phone, when the caller links by phone.
		nu := req.NewUser
		byPhone := req.LinkByPhone && nu.Phone != ""
		if byPhone {
			var userID string
			err := tx.QueryRowContext(ctx, s.q("SELECT id FROM users WHERE phone = ?"), nu.Phone).Scan(&userID)
			switch {
			case err == nil:
				if res.User, err = s.owner(ctx, tx, userID); err != nil {
					return err
				}
				if in.UnionID != "" {
					if _, err := tx.ExecContext(ctx, s.q("INSERT INTO unions (union_id, user_id) VALUES (?, ?)"),
						in.UnionID, userID); err != nil {
						return raceOr(fmt.Errorf("sqlstore: link unionid: %w", s.d.mapError(err)))
					}
				}
				res.Identity, err = s.insertIdentity(ctx, tx, in, userID, now)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("sqlstore: link identity: %w", s.d.mapError(err))
			}
		}

		// 4. A new user.
		if nu.ID == "" {
			return errors.New("sqlstore: link identity: NewUser.ID is required")
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
			nu.ID, nu.Nickname, nu.AvatarURL, null(nu.Phone), nu.InviterID, nu.Disabled, now, now); err != nil {
			err = fmt.Errorf("sqlstore: create user %q: %w", nu.ID, s.d.mapError(err))
			if byPhone {
				// A concurrent call may have just given the phone to
				// another user: start over and link to that one.
				err = raceOr(err)
			}
			return err
		}
		if in.UnionID != "" {
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO unions (union_id, user_id) VALUES (?, ?)"),
				in.UnionID, nu.ID); err != nil {
				return raceOr(fmt.Errorf("sqlstore: link unionid: %w", s.d.mapError(err)))
			}
		}
		if res.Identity, err = s.insertIdentity(ctx, tx, in, nu.ID, now); err != nil {
			return err
		}
		res.User, err = s.getUser(ctx, tx, nu.ID)
		res.Created = true
		return err
	})
	if err != nil {
		return storage.LinkResult{}, err
	}
	return res, nil
}

// owner reads the user an identity, unionid or phone just read points
// at. Gone between the two reads means a concurrent DeleteUser committed
// in between (PostgreSQL at READ COMMITTED): errRace, and the link starts
// over without it.
func (s *Store) owner(ctx context.Context, tx *sql.Tx, id string) (storage.User, error) {
	u, err := s.getUser(ctx, tx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, fmt.Errorf("%w: %w", errRace, err)
	}
	return u, err
}

// raceOr turns a conflict on the identity or unionid keys into errRace.
func raceOr(err error) error {
	if errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("%w: %w", errRace, err)
	}
	return err
}

func (s *Store) insertIdentity(ctx context.Context, tx *sql.Tx, in storage.Identity, userID string, now int64) (storage.Identity, error) {
	if _, err := tx.ExecContext(ctx, s.q("INSERT INTO identities ("+identityColumns+") VALUES (?, ?, ?, ?, ?, ?)"),
		in.AppID, in.OpenID, null(in.UnionID), userID, now, now); err != nil {
		return storage.Identity{}, raceOr(fmt.Errorf("sqlstore: link identity %s/%s: %w", in.AppID, in.OpenID, s.d.mapError(err)))
	}
	return storage.Identity{
		AppID: in.AppID, OpenID: in.OpenID, UnionID: in.UnionID, UserID: userID,
		CreatedAt: goTime(now), UpdatedAt: goTime(now),
	}, nil
}

// User implements [storage.Users.User].
func (s *Store) User(ctx context.Context, id string) (storage.User, error) {
	if err := s.rgate.enter(ctx); err != nil {
		return storage.User{}, err
	}
	defer s.rgate.leave()
	return s.getUser(ctx, s.reads, id)
}

// UserByUnionID implements [storage.Users.UserByUnionID] with one read.
func (s *Store) UserByUnionID(ctx context.Context, unionID string) (storage.User, error) {
	if err := s.rgate.enter(ctx); err != nil {
		return storage.User{}, err
	}
	defer s.rgate.leave()
	u, err := scanUser(s.reads.QueryRowContext(ctx, s.q("SELECT "+prefixed("u.", userColumns)+
		" FROM unions n JOIN users u ON u.id = n.user_id WHERE n.union_id = ?"), unionID))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.User{}, fmt.Errorf("sqlstore: unionid %q: %w", unionID, storage.ErrNotFound)
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("sqlstore: unionid %q: %w", unionID, s.d.mapError(err))
	}
	return u, nil
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = p + c
	}
	return strings.Join(cols, ", ")
}

// Identity implements [storage.Users.Identity].
func (s *Store) Identity(ctx context.Context, appID, openID string) (storage.Identity, error) {
	if err := s.rgate.enter(ctx); err != nil {
		return storage.Identity{}, err
	}
	defer s.rgate.leave()
	return s.getIdentity(ctx, s.reads, appID, openID)
}

// Identities implements [storage.Users.Identities]: oldest first, ties by
// (app_id, open_id). An unknown user has none.
func (s *Store) Identities(ctx context.Context, userID string) ([]storage.Identity, error) {
	if err := s.rgate.enter(ctx); err != nil {
		return nil, err
	}
	defer s.rgate.leave()
	rows, err := s.reads.QueryContext(ctx, s.q(
		"SELECT "+identityColumns+" FROM identities WHERE user_id = ? ORDER BY created_at, app_id, open_id"), userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: identities of %q: %w", userID, s.d.mapError(err))
	}
	defer rows.Close()
	var out []storage.Identity
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: identities of %q: %w", userID, s.d.mapError(err))
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: identities of %q: %w", userID, s.d.mapError(err))
	}
	return out, nil
}

// UpdateUser implements [storage.Users.UpdateUser] in one write
// transaction. fn runs inside it, so it must not call the store. The store
// has no clock: fn sets UpdatedAt.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*storage.User) error) (storage.User, error) {
	if err := s.wgate.enter(ctx); err != nil {
		return storage.User{}, err
	}
	defer s.wgate.leave()
	var next storage.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		next = cur
		if err := fn(&next); err != nil {
			return err
		}
		next.ID, next.CreatedAt = cur.ID, cur.CreatedAt
		next.UpdatedAt = goTime(dbTime(next.UpdatedAt))
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE users
			SET nickname = ?, avatar_url = ?, phone = ?, inviter_id = ?, disabled = ?, updated_at = ?
			WHERE id = ?`),
			next.Nickname, next.AvatarURL, null(next.Phone), next.InviterID, next.Disabled, dbTime(next.UpdatedAt), id); err != nil {
			return fmt.Errorf("sqlstore: update user %q: %w", id, s.d.mapError(err))
		}
		return nil
	})
	if err != nil {
		return storage.User{}, err
	}
	return next, nil
}

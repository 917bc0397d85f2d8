package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.Users = (*Store)(nil)

type identityKey struct{ appID, openID string }

type userRec struct {
	user storage.User
	// identities in the order they were linked.
	identities []*storage.Identity
}

// LinkIdentity implements [storage.Users.LinkIdentity] under the users lock.
//
// When an identity that had no unionid gets one already held by another
// user, the identity stays with its own user and the unionid keeps pointing
// at the first: users are never merged here.
func (s *Store) LinkIdentity(ctx context.Context, req storage.LinkRequest) (storage.LinkResult, error) {
	in := req.Identity
	if in.AppID == "" || in.OpenID == "" {
		return storage.LinkResult{}, errors.New("memstore: link identity: AppID and OpenID are required")
	}
	now := req.Now.UTC()

	s.umu.Lock()
	defer s.umu.Unlock()

	// 1. A known identity.
	if id, ok := s.identities[identityKey{in.AppID, in.OpenID}]; ok {
		if id.UnionID == "" && in.UnionID != "" {
			id.UnionID = in.UnionID
			id.UpdatedAt = now
			if _, taken := s.unions[in.UnionID]; !taken {
				s.unions[in.UnionID] = id.UserID
			}
		}
		return storage.LinkResult{User: s.users[id.UserID].user, Identity: *id}, nil
	}

	// 2. Another identity of the same unionid.
	if in.UnionID != "" {
		if userID, ok := s.unions[in.UnionID]; ok {
			u := s.users[userID]
			id := s.addIdentity(u, in, now)
			return storage.LinkResult{User: u.user, Identity: *id}, nil
		}
	}

	// 3. The user who has the phone, when the caller links by phone.
	if req.LinkByPhone && req.NewUser.Phone != "" {
		if userID, ok := s.phones[req.NewUser.Phone]; ok {
			u := s.users[userID]
			if in.UnionID != "" {
				s.unions[in.UnionID] = userID // not taken: step 2 found none
			}
			id := s.addIdentity(u, in, now)
			return storage.LinkResult{User: u.user, Identity: *id}, nil
		}
	}

	// 4. A new user.
	nu := req.NewUser
	if nu.ID == "" {
		return storage.LinkResult{}, errors.New("memstore: link identity: NewUser.ID is required")
	}
	if _, ok := s.users[nu.ID]; ok {
		return storage.LinkResult{}, fmt.Errorf("memstore: user %q exists: %w", nu.ID, storage.ErrConflict)
	}
	if nu.Phone != "" {
		if _, ok := s.phones[nu.Phone]; ok {
			return storage.LinkResult{}, fmt.Errorf("memstore: phone already bound: %w", storage.ErrConflict)
		}
		s.phones[nu.Phone] = nu.ID
	}
	nu.CreatedAt, nu.UpdatedAt = now, now
	u := &userRec{user: nu}
	s.users[nu.ID] = u
	if in.UnionID != "" {
		s.unions[in.UnionID] = nu.ID
	}
	id := s.addIdentity(u, in, now)
	return storage.LinkResult{User: u.user, Identity: *id, Created: true}, nil
}

func (s *Store) addIdentity(u *userRec, in storage.Identity, now time.Time) *storage.Identity {
	id := &storage.Identity{
		AppID:     in.AppID,
		OpenID:    in.OpenID,
		UnionID:   in.UnionID,
		UserID:    u.user.ID,
		CreatedAt: now,
		UpdatedAt: now,
	}
	s.identities[identityKey{in.AppID, in.OpenID}] = id
	u.identities = append(u.identities, id)
	return id
}

// User implements [storage.Users.User].
func (s *Store) User(ctx context.Context, id string) (storage.User, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return storage.User{}, fmt.Errorf("memstore: user %q: %w", id, storage.ErrNotFound)
	}
	return u.user, nil
}

// UserByUnionID implements [storage.Users.UserByUnionID].
func (s *Store) UserByUnionID(ctx context.Context, unionID string) (storage.User, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	if id, ok := s.unions[unionID]; ok && unionID != "" {
		if u, ok := s.users[id]; ok {
			return u.user, nil
		}
	}
	return storage.User{}, fmt.Errorf("memstore: unionid %q: %w", unionID, storage.ErrNotFound)
}

// Identity implements [storage.Users.Identity].
func (s *Store) Identity(ctx context.Context, appID, openID string) (storage.Identity, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	id, ok := s.identities[identityKey{appID, openID}]
	if !ok {
		return storage.Identity{}, fmt.Errorf("memstore: identity %s/%s: %w", appID, openID, storage.ErrNotFound)
	}
	return *id, nil
}

// Identities implements [storage.Users.Identities]: oldest first, ties in
// link order. An unknown user has none.
func (s *Store) Identities(ctx context.Context, userID string) ([]storage.Identity, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return nil, nil
	}
	out := make([]storage.Identity, len(u.identities))
	for i, id := range u.identities {
		out[i] = *id
	}
	slices.SortStableFunc(out, func(a, b storage.Identity) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// UpdateUser implements [storage.Users.UpdateUser]. fn runs under the users
// lock, so it must not call the store. The store has no clock: fn sets
// UpdatedAt.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*storage.User) error) (storage.User, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return storage.User{}, fmt.Errorf("memstore: user %q: %w", id, storage.ErrNotFound)
	}
	next := u.user
	if err := fn(&next); err != nil {
		return storage.User{}, err
	}
	next.ID, next.CreatedAt = u.user.ID, u.user.CreatedAt
	next.UpdatedAt = next.UpdatedAt.UTC()
	if next.Phone != u.user.Phone {
		if next.Phone != "" {
			if owner, taken := s.phones[next.Phone]; taken && owner != id {
				return storage.User{}, fmt.Errorf("memstore: phone already bound: %w", storage.ErrConflict)
			}
			s.phones[next.Phone] = id
		}
		if u.user.Phone != "" {
			delete(s.phones, u.user.Phone)
		}
	}
	u.user = next
	return next, nil
}

// Ping implements [storage.Users.Ping] and [storage.Sessions.Ping]: memory
// always answers.
func (s *Store) Ping(ctx context.Context) error { return nil }

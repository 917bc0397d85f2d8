package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.UserAdmin = (*Store)(nil)

// DeleteUser implements [storage.UserAdmin.DeleteUser] under the users lock.
func (s *Store) DeleteUser(ctx context.Context, id string) (storage.User, []storage.Identity, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return storage.User{}, nil, fmt.Errorf("memstore: user %q: %w", id, storage.ErrNotFound)
	}
	ids := make([]storage.Identity, len(u.identities))
	for i, in := range u.identities {
		ids[i] = *in
		delete(s.identities, identityKey{in.AppID, in.OpenID})
	}
	slices.SortStableFunc(ids, func(a, b storage.Identity) int { return a.CreatedAt.Compare(b.CreatedAt) })
	s.dropUser(u)
	for _, o := range s.users {
		if o.user.InviterID == id {
			o.user.InviterID = ""
		}
	}
	return u.user, ids, nil
}

// dropUser removes u and the unionid and phone entries that point at it;
// the caller has dealt with its identities.
func (s *Store) dropUser(u *userRec) {
	for union, owner := range s.unions {
		if owner == u.user.ID {
			delete(s.unions, union)
		}
	}
	if u.user.Phone != "" && s.phones[u.user.Phone] == u.user.ID {
		delete(s.phones, u.user.Phone)
	}
	delete(s.users, u.user.ID)
}

// MergeUsers implements [storage.UserAdmin.MergeUsers] under the users lock.
// Users invited by from are then invited by into.
func (s *Store) MergeUsers(ctx context.Context, into, from string, now time.Time) (storage.User, error) {
	if into == from {
		return storage.User{}, fmt.Errorf("memstore: merge user %q into itself: %w", into, storage.ErrInvalid)
	}
	s.umu.Lock()
	defer s.umu.Unlock()
	dst, ok := s.users[into]
	if !ok {
		return storage.User{}, fmt.Errorf("memstore: user %q: %w", into, storage.ErrNotFound)
	}
	src, ok := s.users[from]
	if !ok {
		return storage.User{}, fmt.Errorf("memstore: user %q: %w", from, storage.ErrNotFound)
	}
	for _, in := range src.identities {
		in.UserID = into
		dst.identities = append(dst.identities, in)
	}
	src.identities = nil
	for union, owner := range s.unions {
		if owner == from {
			s.unions[union] = into
		}
	}
	for _, o := range s.users {
		if o.user.InviterID == from && o != dst {
			o.user.InviterID = into
		}
	}
	phone := src.user.Phone
	s.dropUser(src)
	next := storage.MergedUser(dst.user, src.user, now.UTC())
	if dst.user.Phone == "" && phone != "" {
		s.phones[phone] = into
	}
	dst.user = next
	return next, nil
}

// UserByPhone implements [storage.UserAdmin.UserByPhone].
func (s *Store) UserByPhone(ctx context.Context, phone string) (storage.User, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	if id, ok := s.phones[phone]; ok && phone != "" {
		if u, ok := s.users[id]; ok {
			return u.user, nil
		}
	}
	return storage.User{}, fmt.Errorf("memstore: user by phone: %w", storage.ErrNotFound)
}

// IdentitiesByOpenID implements [storage.UserAdmin.IdentitiesByOpenID],
// ordered by app id.
func (s *Store) IdentitiesByOpenID(ctx context.Context, openID string) ([]storage.Identity, error) {
	s.umu.Lock()
	defer s.umu.Unlock()
	var out []storage.Identity
	for k, id := range s.identities {
		if k.openID == openID {
			out = append(out, *id)
		}
	}
	slices.SortFunc(out, func(a, b storage.Identity) int { return strings.Compare(a.AppID, b.AppID) })
	return out, nil
}

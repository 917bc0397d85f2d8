package memstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.Sessions = (*Store)(nil)

// minSweepEvery is the least number of session writes between two sweeps;
// between them the sweep waits for as many writes as there are sessions, so
// its cost per write stays constant.
const minSweepEvery = 1024

// sessionRec is a [storage.Session] in about 180 bytes plus its strings
// (the sealed session_key kept as one, so it cannot change in place): times
// are Unix nanoseconds (UTC) instead of 24-byte time.Time values.
type sessionRec struct {
	id, userID, app                                 string
	sessionKey                                      string
	created, lastUsed, expires, maxExpires, rotated int64
	gen                                             uint64
	hash, prevHash                                  [32]byte
}

// zeroTime stands for the zero time.Time, whose UnixNano is undefined.
const zeroTime = math.MinInt64

// nanos encodes t; times outside 1678–2262 are not representable.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func newSessionRec(s storage.Session) *sessionRec {
	r := &sessionRec{id: s.ID, userID: s.UserID, app: s.App, sessionKey: string(s.SessionKey)}
	r.set(s)
	return r
}

// set copies the mutable part of s into r (the ids, app and session key
// never change).
func (r *sessionRec) set(s storage.Session) {
	r.created = nanos(s.CreatedAt)
	r.lastUsed = nanos(s.LastUsedAt)
	r.expires = nanos(s.ExpiresAt)
	r.maxExpires = nanos(s.MaxExpiresAt)
	r.rotated = nanos(s.RotatedAt)
	r.gen = s.Gen
	r.hash = s.Hash
	r.prevHash = s.PrevHash
}

func (r *sessionRec) session() storage.Session {
	return storage.Session{
		ID:           r.id,
		UserID:       r.userID,
		App:          r.app,
		SessionKey:   sessionKeyBytes(r.sessionKey),
		CreatedAt:    fromNanos(r.created),
		LastUsedAt:   fromNanos(r.lastUsed),
		ExpiresAt:    fromNanos(r.expires),
		MaxExpiresAt: fromNanos(r.maxExpires),
		Gen:          r.gen,
		Hash:         r.hash,
		PrevHash:     r.prevHash,
		RotatedAt:    fromNanos(r.rotated),
	}
}

// sessionKeyBytes is a new copy of a stored session key; nil when empty.
func sessionKeyBytes(k string) []byte {
	if k == "" {
		return nil
	}
	return []byte(k)
}

// live is [storage.Session.Live] on the record.
func (r *sessionRec) live(now int64) bool { return now < r.expires }

// CreateSession implements [storage.Sessions.CreateSession]. An expired
// session not yet swept still holds its id.
func (s *Store) CreateSession(ctx context.Context, sess storage.Session, quotas ...storage.Quota) error {
	if err := chargeQuotas(ctx, s, quotas, sess.CreatedAt); err != nil {
		return err
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if _, ok := s.sessions[sess.ID]; ok {
		return fmt.Errorf("memstore: session %q exists: %w", sess.ID, storage.ErrConflict)
	}
	r := newSessionRec(sess)
	s.sessions[r.id] = r
	s.userSessions[r.userID] = append(s.userSessions[r.userID], r)
	s.wrote(max(r.created, r.lastUsed))
	return nil
}

// Session implements [storage.Sessions.Session].
func (s *Store) Session(ctx context.Context, id string, now time.Time) (storage.Session, error) {
	s.smu.RLock()
	defer s.smu.RUnlock()
	r, ok := s.sessions[id]
	if !ok || !r.live(now.UnixNano()) {
		return storage.Session{}, fmt.Errorf("memstore: session %q: %w", id, storage.ErrNotFound)
	}
	return r.session(), nil
}

// Rotate implements [storage.Sessions.Rotate]: [storage.DecideRotation]
// under the sessions lock. An expired session it finds is deleted.
func (s *Store) Rotate(ctx context.Context, req storage.RotateRequest) (storage.Session, storage.Outcome, error) {
	if err := chargeQuotas(ctx, s, req.Quotas, req.Now); err != nil {
		return storage.Session{}, 0, err
	}
	now := req.Now.UnixNano()
	s.smu.Lock()
	defer s.smu.Unlock()
	defer s.wrote(now)

	r, ok := s.sessions[req.SessionID]
	if !ok {
		return storage.Session{}, storage.Rejected, nil
	}
	if !r.live(now) {
		s.remove(r)
		return storage.Session{}, storage.Rejected, nil
	}
	cur := r.session()
	next, out := storage.DecideRotation(&cur, req)
	switch out {
	case storage.Rotated:
		r.set(next)
		return r.session(), out, nil
	case storage.GraceReplay:
		return cur, out, nil
	case storage.Reused:
		s.remove(r)
		return next, out, nil
	}
	return storage.Session{}, out, nil
}

// RevokeSession implements [storage.Sessions.RevokeSession].
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	r, ok := s.sessions[id]
	if !ok {
		return fmt.Errorf("memstore: session %q: %w", id, storage.ErrNotFound)
	}
	s.remove(r)
	return nil
}

// RevokeUserSessions implements [storage.Sessions.RevokeUserSessions]. The
// count includes expired sessions not yet swept.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string) (int, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	list := s.userSessions[userID]
	for _, r := range list {
		delete(s.sessions, r.id)
	}
	delete(s.userSessions, userID)
	return len(list), nil
}

// UserSessions implements [storage.Sessions.UserSessions]: newest first by
// CreatedAt.
func (s *Store) UserSessions(ctx context.Context, userID string, now time.Time) ([]storage.Session, error) {
	n := now.UnixNano()
	s.smu.RLock()
	defer s.smu.RUnlock()
	var out []storage.Session
	for _, r := range s.userSessions[userID] {
		if r.live(n) {
			out = append(out, r.session())
		}
	}
	slices.SortStableFunc(out, func(a, b storage.Session) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// remove deletes r from both indexes. The caller holds smu.
func (s *Store) remove(r *sessionRec) {
	delete(s.sessions, r.id)
	list := s.userSessions[r.userID]
	if i := slices.Index(list, r); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(s.userSessions, r.userID)
	} else {
		s.userSessions[r.userID] = list
	}
}

// wrote records a session write carrying the time now and sweeps expired
// sessions once enough writes have passed. The caller holds smu.
func (s *Store) wrote(now int64) {
	s.latest = max(s.latest, now)
	s.writesSinceSweep++
	if s.writesSinceSweep < max(minSweepEvery, len(s.sessions)) {
		return
	}
	s.writesSinceSweep = 0
	s.sweep(s.latest)
}

// sweep deletes every session expired at now. The caller holds smu.
func (s *Store) sweep(now int64) {
	for userID, list := range s.userSessions {
		kept := list[:0]
		for _, r := range list {
			if r.live(now) {
				kept = append(kept, r)
			} else {
				delete(s.sessions, r.id)
			}
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(s.userSessions, userID)
		} else {
			s.userSessions[userID] = kept
		}
	}
}

// chargeQuotas counts one hit on each quota and returns a *LimitError for
// the one that must wait longest, if any is over its limit.
func chargeQuotas(ctx context.Context, l storage.Limiter, quotas []storage.Quota, now time.Time) error {
	var over *storage.LimitError
	for _, q := range quotas {
		ok, retry, err := l.Allow(ctx, q.Key, q.Limit, q.Window, now)
		if err != nil {
			return err
		}
		if !ok && (over == nil || retry > over.RetryAfter) {
			over = &storage.LimitError{Key: q.Key, RetryAfter: retry}
		}
	}
	if over != nil {
		return over
	}
	return nil
}

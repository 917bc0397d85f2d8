package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.Revocations = (*Store)(nil)

// revocations is the in-process revocation feed: a record pruned by expiry
// and a set of subscribers.
type revocations struct {
	mu     sync.Mutex
	record map[string]time.Time
	subs   map[int]func(storage.RevokedSession)
	next   int
}

// PublishRevoked implements [storage.Revocations.PublishRevoked].
func (s *Store) PublishRevoked(ctx context.Context, r storage.RevokedSession) error {
	rv := &s.revocations
	rv.mu.Lock()
	if rv.record == nil {
		rv.record = map[string]time.Time{}
	}
	now := time.Now()
	for sid, until := range rv.record {
		if !until.After(now) {
			delete(rv.record, sid)
		}
	}
	if r.Until.After(rv.record[r.SID]) {
		rv.record[r.SID] = r.Until
	}
	subs := make([]func(storage.RevokedSession), 0, len(rv.subs))
	for _, fn := range rv.subs {
		subs = append(subs, fn)
	}
	rv.mu.Unlock()
	for _, fn := range subs {
		fn(r)
	}
	return nil
}

// RecentRevocations implements [storage.Revocations.RecentRevocations].
func (s *Store) RecentRevocations(ctx context.Context, now time.Time) ([]storage.RevokedSession, error) {
	rv := &s.revocations
	rv.mu.Lock()
	defer rv.mu.Unlock()
	out := make([]storage.RevokedSession, 0, len(rv.record))
	for sid, until := range rv.record {
		if until.After(now) {
			out = append(out, storage.RevokedSession{SID: sid, Until: until})
		}
	}
	return out, nil
}

// SubscribeRevoked implements [storage.Revocations.SubscribeRevoked].
func (s *Store) SubscribeRevoked(ctx context.Context, ready func(), fn func(storage.RevokedSession)) error {
	rv := &s.revocations
	rv.mu.Lock()
	if rv.subs == nil {
		rv.subs = map[int]func(storage.RevokedSession){}
	}
	id := rv.next
	rv.next++
	rv.subs[id] = fn
	rv.mu.Unlock()
	defer func() {
		rv.mu.Lock()
		delete(rv.subs, id)
		rv.mu.Unlock()
	}()
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	return ctx.Err()
}

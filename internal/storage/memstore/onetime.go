package memstore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.OneTime = (*Store)(nil)

// oneTimeItems holds a Store's one-time items under their own lock. Its zero
// value is empty and ready.
//
// Unlike sessions, items come with a TTL, not a time, so they expire by the
// real (monotonic) clock. Expired items are treated as absent and swept on
// the write path, as sessions are: after as many puts as there are items
// (at least minSweepEvery), so memory stays bounded at constant cost per
// put.
type oneTimeItems struct {
	mu             sync.Mutex
	items          map[string]oneTimeItem
	putsSinceSweep int
}

type oneTimeItem struct {
	value   []byte
	expires time.Time // with a monotonic reading
}

// PutOnce implements [storage.OneTime.PutOnce].
func (s *Store) PutOnce(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("memstore: put %q: ttl %v is not positive", key, ttl)
	}
	now := time.Now()
	o := &s.oneTime
	o.mu.Lock()
	defer o.mu.Unlock()
	if it, ok := o.items[key]; ok && now.Before(it.expires) {
		return fmt.Errorf("memstore: one-time item %q exists: %w", key, storage.ErrConflict)
	}
	if o.items == nil {
		o.items = make(map[string]oneTimeItem)
	}
	o.items[key] = oneTimeItem{value: bytes.Clone(value), expires: now.Add(ttl)}
	o.putsSinceSweep++
	if o.putsSinceSweep >= max(minSweepEvery, len(o.items)) {
		o.putsSinceSweep = 0
		for k, it := range o.items {
			if !now.Before(it.expires) {
				delete(o.items, k)
			}
		}
	}
	return nil
}

// Take implements [storage.OneTime.Take].
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	o := &s.oneTime
	o.mu.Lock()
	defer o.mu.Unlock()
	it, ok := o.items[key]
	if ok {
		delete(o.items, key)
	}
	if !ok || !time.Now().Before(it.expires) {
		return nil, fmt.Errorf("memstore: one-time item %q: %w", key, storage.ErrNotFound)
	}
	return it.value, nil // deleted: the caller owns it now
}

// Get implements [storage.OneTime.Get].
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	o := &s.oneTime
	o.mu.Lock()
	defer o.mu.Unlock()
	it, ok := o.items[key]
	if !ok || !time.Now().Before(it.expires) {
		return nil, fmt.Errorf("memstore: one-time item %q: %w", key, storage.ErrNotFound)
	}
	return bytes.Clone(it.value), nil
}

// CompareAndSwap implements [storage.OneTime.CompareAndSwap].
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, next []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("memstore: swap %q: ttl %v is not positive", key, ttl)
	}
	now := time.Now()
	o := &s.oneTime
	o.mu.Lock()
	defer o.mu.Unlock()
	it, ok := o.items[key]
	if !ok || !now.Before(it.expires) {
		return fmt.Errorf("memstore: one-time item %q: %w", key, storage.ErrNotFound)
	}
	if !bytes.Equal(it.value, old) {
		return fmt.Errorf("memstore: one-time item %q changed: %w", key, storage.ErrConflict)
	}
	o.items[key] = oneTimeItem{value: bytes.Clone(next), expires: now.Add(ttl)}
	return nil
}

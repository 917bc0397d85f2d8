package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.SigningKeys = (*Store)(nil)

// signingKeys holds a Store's signing keys under their own lock. Its zero
// value is empty and ready.
type signingKeys struct {
	mu   sync.Mutex
	byID map[string]storage.SigningKey
}

// AddSigningKey implements [storage.SigningKeys.AddSigningKey].
func (s *Store) AddSigningKey(ctx context.Context, k storage.SigningKey) error {
	if k.ID == "" || len(k.Sealed) == 0 {
		return errors.New("memstore: add signing key: ID and Sealed are required")
	}
	ks := &s.keys
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if _, ok := ks.byID[k.ID]; ok {
		return fmt.Errorf("memstore: signing key %q exists: %w", k.ID, storage.ErrConflict)
	}
	if ks.byID == nil {
		ks.byID = make(map[string]storage.SigningKey)
	}
	k.Sealed = bytes.Clone(k.Sealed)
	k.CreatedAt, k.ActiveAt = k.CreatedAt.UTC(), k.ActiveAt.UTC()
	ks.byID[k.ID] = k
	return nil
}

// SigningKeys implements [storage.SigningKeys.SigningKeys]: newest ActiveAt
// first, ties by id.
func (s *Store) SigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	ks := &s.keys
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var out []storage.SigningKey
	for _, k := range ks.byID {
		k.Sealed = bytes.Clone(k.Sealed)
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b storage.SigningKey) int {
		if c := b.ActiveAt.Compare(a.ActiveAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteSigningKey implements [storage.SigningKeys.DeleteSigningKey].
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	ks := &s.keys
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if _, ok := ks.byID[id]; !ok {
		return fmt.Errorf("memstore: signing key %q: %w", id, storage.ErrNotFound)
	}
	delete(ks.byID, id)
	return nil
}

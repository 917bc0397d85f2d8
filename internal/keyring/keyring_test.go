package keyring_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/internal/keyring"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/storage/memstore"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func newRing(t *testing.T, store *memstore.Store, clock *fakeclock.Clock, secret string) *keyring.Ring {
	t.Helper()
	box, err := seal.New([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.Open(t.Context(), keyring.Config{Store: store, Seal: box, AccessTTL: time.Hour, Reload: 10 * time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A rotation never logs anybody out: the new key verifies everywhere before
// it signs, and the old one verifies until its last token has expired.
func TestRotation(t *testing.T) {
	store := memstore.New()
	clock := fakeclock.New(t0)
	secret := strings.Repeat("k", 32)
	a := newRing(t, store, clock, secret)
	b := newRing(t, store, clock, secret) // a second instance on the same store
	old := a.Current()
	if b.Current().ID != old.ID {
		t.Fatalf("two instances sign with different keys: %s, %s", old.ID, b.Current().ID)
	}
	if stored, _ := store.SigningKeys(t.Context()); len(stored) != 1 || bytes.Contains(stored[0].Sealed, old.Private.Seed()) {
		t.Fatalf("stored keys = %d, sealed=%v", len(stored), stored)
	}

	nk, activeAt, err := a.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !activeAt.Equal(t0.Add(20 * time.Second)) {
		t.Errorf("new key active at %v, want now + two reloads", activeAt)
	}
	// b picks the new key up on its next reload, before anyone signs with it.
	clock.Advance(10 * time.Second)
	if err := b.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*keyring.Ring{"a": a, "b": b} {
		if r.Current().ID != old.ID {
			t.Errorf("%s signs with the new key before it is active", name)
		}
		if _, ok := r.PublicKey(nk.ID); !ok {
			t.Errorf("%s cannot verify the new key yet", name)
		}
	}
	clock.Advance(10 * time.Second)
	for name, r := range map[string]*keyring.Ring{"a": a, "b": b} {
		if err := r.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r.Current().ID != nk.ID {
			t.Errorf("%s does not sign with the new key once active", name)
		}
		if _, ok := r.PublicKey(old.ID); !ok {
			t.Errorf("%s dropped the old key while its tokens are valid", name)
		}
		if !strings.Contains(string(r.JWKS()), old.ID) || !strings.Contains(string(r.JWKS()), nk.ID) {
			t.Errorf("%s JWKS lacks a key: %s", name, r.JWKS())
		}
	}
	// An access token signed just before the switch lives one hour; after
	// that (and the leeway) the old key goes, from the set and the store.
	clock.Advance(time.Hour + 2*time.Minute)
	if err := a.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.PublicKey(old.ID); ok {
		t.Error("the old key is still kept after its tokens expired")
	}
	if stored, _ := store.SigningKeys(t.Context()); len(stored) != 1 || stored[0].ID != nk.ID {
		t.Errorf("store after retirement = %v", stored)
	}
}

func TestWrongSecret(t *testing.T) {
	store := memstore.New()
	clock := fakeclock.New(t0)
	newRing(t, store, clock, strings.Repeat("k", 32))
	box, _ := seal.New([]byte(strings.Repeat("x", 32)), nil)
	_, err := keyring.Open(t.Context(), keyring.Config{Store: store, Seal: box, AccessTTL: time.Hour, Now: clock.Now})
	if err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("Open with another secret = %v, want an error naming the secret", err)
	}
}

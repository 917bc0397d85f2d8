package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/internal/storage"
)

// RunSigningKeys runs the [storage.SigningKeys] conformance suite. newStore
// must return a fresh, empty store for each subtest and clean it up with
// t.Cleanup.
func RunSigningKeys(t *testing.T, newStore func(t *testing.T) storage.SigningKeys) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.SigningKeys)
	}{
		{"Empty", testKeysEmpty},
		{"AddList/NewestActiveFirst", testKeysNewestFirst},
		{"Add/Conflict", testKeysConflict},
		{"Delete", testKeysDelete},
		{"Delete/NotFound", testKeysDeleteNotFound},
		{"Copies", testKeysCopies},
		{"Race/AddDifferent", testKeysRaceAddDifferent},
		{"Race/AddSame", testKeysRaceAddSame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// signingKey is key id created at created and active an hour later.
func signingKey(id string, created time.Time) storage.SigningKey {
	return storage.SigningKey{
		ID: id, Sealed: []byte("sealed-" + id),
		CreatedAt: created, ActiveAt: created.Add(time.Hour),
	}
}

func mustAddKey(t *testing.T, s storage.SigningKeys, k storage.SigningKey) {
	t.Helper()
	if err := s.AddSigningKey(t.Context(), k); err != nil {
		t.Fatalf("AddSigningKey(%q) = %v, want nil", k.ID, err)
	}
}

// wantKeys checks that the stored keys are want, in order.
func wantKeys(t *testing.T, s storage.SigningKeys, want []storage.SigningKey) {
	t.Helper()
	got, err := s.SigningKeys(t.Context())
	if err != nil {
		t.Fatalf("SigningKeys() = %v, want nil", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("SigningKeys() mismatch (-want +got):\n%s", diff)
	}
}

func testKeysEmpty(t *testing.T, s storage.SigningKeys) {
	wantKeys(t, s, nil)
}

func testKeysNewestFirst(t *testing.T, s storage.SigningKeys) {
	// Added out of ActiveAt order on purpose; CreatedAt order differs too.
	k1 := signingKey("k1", t0)
	k2 := signingKey("k2", t0.Add(24*time.Hour))
	k3 := signingKey("k3", t0.Add(48*time.Hour))
	k3.CreatedAt = t0.Add(-time.Hour) // created early, activated last
	for _, k := range []storage.SigningKey{k2, k3, k1} {
		mustAddKey(t, s, k)
	}
	wantKeys(t, s, []storage.SigningKey{k3, k2, k1})
}

func testKeysConflict(t *testing.T, s storage.SigningKeys) {
	k := signingKey("k1", t0)
	mustAddKey(t, s, k)
	dup := signingKey("k1", t0.Add(time.Hour))
	dup.Sealed = []byte("other")
	if err := s.AddSigningKey(t.Context(), dup); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("AddSigningKey(duplicate id) = %v, want ErrConflict", err)
	}
	wantKeys(t, s, []storage.SigningKey{k})
}

func testKeysDelete(t *testing.T, s storage.SigningKeys) {
	k1, k2 := signingKey("k1", t0), signingKey("k2", t0.Add(time.Hour))
	mustAddKey(t, s, k1)
	mustAddKey(t, s, k2)
	if err := s.DeleteSigningKey(t.Context(), "k1"); err != nil {
		t.Fatalf("DeleteSigningKey(k1) = %v, want nil", err)
	}
	wantKeys(t, s, []storage.SigningKey{k2})
	if err := s.DeleteSigningKey(t.Context(), "k1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("DeleteSigningKey(k1) again = %v, want ErrNotFound", err)
	}
	// The id is free again.
	mustAddKey(t, s, k1)
	wantKeys(t, s, []storage.SigningKey{k2, k1})
}

func testKeysDeleteNotFound(t *testing.T, s storage.SigningKeys) {
	mustAddKey(t, s, signingKey("k1", t0))
	for _, id := range []string{"k2", ""} {
		if err := s.DeleteSigningKey(t.Context(), id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("DeleteSigningKey(%q) = %v, want ErrNotFound", id, err)
		}
	}
	wantKeys(t, s, []storage.SigningKey{signingKey("k1", t0)})
}

func testKeysCopies(t *testing.T, s storage.SigningKeys) {
	k := signingKey("k1", t0)
	in := k
	in.Sealed = slices.Clone(k.Sealed)
	mustAddKey(t, s, in)
	in.Sealed[0] = 'X' // the caller reuses its buffer
	got, err := s.SigningKeys(t.Context())
	if err != nil || len(got) != 1 {
		t.Fatalf("SigningKeys() = %d keys, %v; want 1, nil", len(got), err)
	}
	got[0].Sealed[1] = 'X' // or scribbles on a result
	got[0].ID = "scribbled"
	wantKeys(t, s, []storage.SigningKey{k})
}

func testKeysRaceAddDifferent(t *testing.T, s storage.SigningKeys) {
	ctx := context.WithoutCancel(t.Context())
	keys := make([]storage.SigningKey, raceN)
	for i := range keys {
		keys[i] = signingKey(fmt.Sprintf("k%02d", i), t0.Add(time.Duration(i)*time.Minute))
	}
	errs := make([]error, raceN)
	start(raceN, func(i int) { errs[i] = s.AddSigningKey(ctx, keys[i]) })
	for i, err := range errs {
		if err != nil {
			t.Errorf("AddSigningKey(%q) = %v, want nil", keys[i].ID, err)
		}
	}
	slices.Reverse(keys) // newest ActiveAt first
	wantKeys(t, s, keys)
}

func testKeysRaceAddSame(t *testing.T, s storage.SigningKeys) {
	ctx := context.WithoutCancel(t.Context())
	errs := make([]error, raceN)
	start(raceN, func(i int) {
		k := signingKey("k1", t0)
		k.Sealed = fmt.Appendf(nil, "sealed-%d", i)
		errs[i] = s.AddSigningKey(ctx, k)
	})
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Errorf("AddSigningKey(k1) #%d and #%d both = nil, want one winner", won, i)
		case !errors.Is(err, storage.ErrConflict):
			t.Errorf("AddSigningKey(k1) #%d = %v, want nil or ErrConflict", i, err)
		}
	}
	if won < 0 {
		t.Fatalf("%d concurrent AddSigningKey(k1): none succeeded, want one", raceN)
	}
	want := signingKey("k1", t0)
	want.Sealed = fmt.Appendf(nil, "sealed-%d", won)
	wantKeys(t, s, []storage.SigningKey{want})
}

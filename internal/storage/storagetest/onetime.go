package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// longTTL outlives any test: items put with it must still be there.
const longTTL = time.Hour

// RunOneTime runs the [storage.OneTime] conformance suite. newStore must
// return a fresh, empty store for each subtest and clean it up with
// t.Cleanup.
//
// One-time items carry a TTL, not a time, so one subtest (Expiry) waits for
// a short real TTL to pass, polling; every other item lives for an hour.
func RunOneTime(t *testing.T, newStore func(t *testing.T) storage.OneTime) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.OneTime)
	}{
		{"PutGetTake", testPutGetTake},
		{"PutOnce/Conflict", testPutOnceConflict},
		{"NotFound", testOneTimeNotFound},
		{"Keys", testOneTimeKeys},
		{"Values", testOneTimeValues},
		{"Copies", testOneTimeCopies},
		{"Expiry", testOneTimeExpiry},
		{"Race/Take", testRaceTake},
		{"Race/PutOnce", testRacePutOnce},
		{"CompareAndSwap", testCompareAndSwap},
		{"CompareAndSwap/TTL", testCompareAndSwapTTL},
		{"Race/CompareAndSwap", testRaceCompareAndSwap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func mustPut(t *testing.T, s storage.OneTime, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := s.PutOnce(t.Context(), key, value, ttl); err != nil {
		t.Fatalf("PutOnce(%q) = %v, want nil", key, err)
	}
}

func wantGet(t *testing.T, s storage.OneTime, key string, want []byte) {
	t.Helper()
	got, err := s.Get(t.Context(), key)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Get(%q) = %q, %v; want %q, nil", key, got, err, want)
	}
}

func wantTake(t *testing.T, s storage.OneTime, key string, want []byte) {
	t.Helper()
	got, err := s.Take(t.Context(), key)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Take(%q) = %q, %v; want %q, nil", key, got, err, want)
	}
}

func wantNoItem(t *testing.T, s storage.OneTime, key string) {
	t.Helper()
	if got, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
	if got, err := s.Take(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Take(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func testPutGetTake(t *testing.T, s storage.OneTime) {
	mustPut(t, s, "state:1", []byte("v1"), longTTL)
	// Get does not consume.
	wantGet(t, s, "state:1", []byte("v1"))
	wantGet(t, s, "state:1", []byte("v1"))
	wantTake(t, s, "state:1", []byte("v1"))
	wantNoItem(t, s, "state:1")
	// A taken key is free again.
	mustPut(t, s, "state:1", []byte("v2"), longTTL)
	wantTake(t, s, "state:1", []byte("v2"))
}

func testPutOnceConflict(t *testing.T, s storage.OneTime) {
	mustPut(t, s, "k", []byte("first"), longTTL)
	if err := s.PutOnce(t.Context(), "k", []byte("second"), 2*longTTL); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("PutOnce(k) again = %v, want ErrConflict", err)
	}
	wantGet(t, s, "k", []byte("first"))
	wantTake(t, s, "k", []byte("first"))
}

func testOneTimeNotFound(t *testing.T, s storage.OneTime) {
	mustPut(t, s, "k", []byte("v"), longTTL)
	wantNoItem(t, s, "other")
	wantNoItem(t, s, "")
	wantGet(t, s, "k", []byte("v"))
}

func testOneTimeKeys(t *testing.T, s storage.OneTime) {
	// Keys that a careless encoding would mix up.
	keys := []string{"a", "a:", "a:b", "A", "{a}", "a}", "{", "o:{a}", "state:a b", "票据"}
	for i, k := range keys {
		mustPut(t, s, k, fmt.Appendf(nil, "v%d", i), longTTL)
	}
	for i, k := range keys {
		wantGet(t, s, k, fmt.Appendf(nil, "v%d", i))
	}
	wantTake(t, s, "a", []byte("v0"))
	for i, k := range keys[1:] {
		wantTake(t, s, k, fmt.Appendf(nil, "v%d", i+1))
	}
}

func testOneTimeValues(t *testing.T, s storage.OneTime) {
	bin := []byte{0, 1, 2, 0xff, 0xfe, 0, '\r', '\n'}
	// A bind ticket carries the WeChat nickname (issue #11).
	nick := []byte("{\"nickname\":\"  小明🐱\u3000👨\u200d👩\u200d👧 \"}")
	mustPut(t, s, "nick", nick, longTTL)
	wantGet(t, s, "nick", nick)
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	mustPut(t, s, "bin", bin, longTTL)
	mustPut(t, s, "big", big, longTTL)
	mustPut(t, s, "empty", []byte{}, longTTL)
	wantGet(t, s, "bin", bin)
	wantTake(t, s, "big", big)
	// An empty value is a value: the key is there, and taken once.
	if got, err := s.Take(t.Context(), "empty"); err != nil || len(got) != 0 {
		t.Errorf("Take(empty) = %q, %v; want empty, nil", got, err)
	}
	wantNoItem(t, s, "empty")
}

func testOneTimeCopies(t *testing.T, s storage.OneTime) {
	v := []byte("value")
	mustPut(t, s, "k", v, longTTL)
	v[0] = 'X' // the caller reuses its buffer
	got, err := s.Get(t.Context(), "k")
	if err != nil {
		t.Fatalf("Get(k) = %v, want nil", err)
	}
	got[1] = 'X' // or scribbles on a result
	wantGet(t, s, "k", []byte("value"))
}

func testOneTimeExpiry(t *testing.T, s storage.OneTime) {
	const ttl = 100 * time.Millisecond
	mustPut(t, s, "long", []byte("l"), longTTL)
	mustPut(t, s, "short", []byte("s"), ttl)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Get(t.Context(), "short")
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatalf("Get(short) = %v, want a value or ErrNotFound", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get(short) still finds the item 10s after PutOnce with ttl %v", ttl)
		}
		time.Sleep(ttl / 4)
	}
	wantNoItem(t, s, "short")
	// An expired key is free again.
	mustPut(t, s, "short", []byte("s2"), longTTL)
	wantGet(t, s, "short", []byte("s2"))
	wantGet(t, s, "long", []byte("l"))
}

func testRaceTake(t *testing.T, s storage.OneTime) {
	ctx := context.WithoutCancel(t.Context())
	mustPut(t, s, "k", []byte("prize"), longTTL)
	var won, lost atomic.Int32
	start(raceN, func(i int) {
		v, err := s.Take(ctx, "k")
		switch {
		case err == nil:
			won.Add(1)
			if string(v) != "prize" {
				t.Errorf("Take(k) #%d = %q, want %q", i, v, "prize")
			}
		case errors.Is(err, storage.ErrNotFound):
			lost.Add(1)
		default:
			t.Errorf("Take(k) #%d = %v, want nil or ErrNotFound", i, err)
		}
	})
	if won.Load() != 1 || lost.Load() != raceN-1 {
		t.Errorf("%d concurrent Take(k): %d won, %d ErrNotFound; want 1, %d", raceN, won.Load(), lost.Load(), raceN-1)
	}
}

func testRacePutOnce(t *testing.T, s storage.OneTime) {
	ctx := context.WithoutCancel(t.Context())
	winner := exactlyOneWins(t, "PutOnce(k)", func(i int) error {
		return s.PutOnce(ctx, "k", fmt.Appendf(nil, "v%d", i), longTTL)
	})
	wantTake(t, s, "k", fmt.Appendf(nil, "v%d", winner))
}

// exactlyOneWins runs op from raceN goroutines at once and checks that one
// call succeeds and every other answers ErrConflict; it returns the
// winner's number.
func exactlyOneWins(t *testing.T, what string, op func(i int) error) int64 {
	t.Helper()
	var ok, conflict atomic.Int32
	var winner atomic.Int64
	start(raceN, func(i int) {
		err := op(i)
		switch {
		case err == nil:
			ok.Add(1)
			winner.Store(int64(i))
		case errors.Is(err, storage.ErrConflict):
			conflict.Add(1)
		default:
			t.Errorf("%s #%d = %v, want nil or ErrConflict", what, i, err)
		}
	})
	if ok.Load() != 1 || conflict.Load() != raceN-1 {
		t.Fatalf("%d concurrent %s: %d nil, %d ErrConflict; want 1, %d", raceN, what, ok.Load(), conflict.Load(), raceN-1)
	}
	return winner.Load()
}

func testCompareAndSwap(t *testing.T, s storage.OneTime) {
	ctx := t.Context()
	if err := s.CompareAndSwap(ctx, "k", []byte("a"), []byte("b"), longTTL); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("CompareAndSwap(absent) = %v, want ErrNotFound", err)
	}
	wantNoItem(t, s, "k")
	mustPut(t, s, "k", []byte("created"), longTTL)
	if err := s.CompareAndSwap(ctx, "k", []byte("other"), []byte("x"), longTTL); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("CompareAndSwap(wrong old) = %v, want ErrConflict", err)
	}
	// A prefix of the value is not the value.
	if err := s.CompareAndSwap(ctx, "k", []byte("create"), []byte("x"), longTTL); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("CompareAndSwap(prefix) = %v, want ErrConflict", err)
	}
	wantGet(t, s, "k", []byte("created"))
	if err := s.CompareAndSwap(ctx, "k", []byte("created"), []byte("claimed"), longTTL); err != nil {
		t.Fatalf("CompareAndSwap(created → claimed) = %v, want nil", err)
	}
	wantGet(t, s, "k", []byte("claimed"))
	// The old value no longer matches: a step is taken once.
	if err := s.CompareAndSwap(ctx, "k", []byte("created"), []byte("again"), longTTL); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("CompareAndSwap(created) after the swap = %v, want ErrConflict", err)
	}
	bin := []byte{0, 0xff, '\n', 0}
	if err := s.CompareAndSwap(ctx, "k", []byte("claimed"), bin, longTTL); err != nil {
		t.Fatalf("CompareAndSwap(claimed → binary) = %v, want nil", err)
	}
	if err := s.CompareAndSwap(ctx, "k", bin, []byte{}, longTTL); err != nil {
		t.Fatalf("CompareAndSwap(binary → empty) = %v, want nil", err)
	}
	wantTake(t, s, "k", []byte{})
	wantNoItem(t, s, "k")
}

func testCompareAndSwapTTL(t *testing.T, s storage.OneTime) {
	// The swap sets the new TTL: a long-lived item swapped with a short TTL
	// expires.
	const ttl = 100 * time.Millisecond
	mustPut(t, s, "k", []byte("a"), longTTL)
	if err := s.CompareAndSwap(t.Context(), "k", []byte("a"), []byte("b"), ttl); err != nil {
		t.Fatalf("CompareAndSwap = %v, want nil", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Get(t.Context(), "k")
		if errors.Is(err, storage.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatalf("Get(k) = %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the item is still there 10s after a swap with ttl %v", ttl)
		}
		time.Sleep(ttl / 4)
	}
	if err := s.CompareAndSwap(t.Context(), "k", []byte("b"), []byte("c"), longTTL); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("CompareAndSwap(expired) = %v, want ErrNotFound", err)
	}
}

func testRaceCompareAndSwap(t *testing.T, s storage.OneTime) {
	ctx := context.WithoutCancel(t.Context())
	mustPut(t, s, "k", []byte("created"), longTTL)
	winner := exactlyOneWins(t, "CompareAndSwap(k)", func(i int) error {
		return s.CompareAndSwap(ctx, "k", []byte("created"), fmt.Appendf(nil, "claimed by %d", i), longTTL)
	})
	wantGet(t, s, "k", fmt.Appendf(nil, "claimed by %d", winner))
}

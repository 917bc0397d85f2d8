package storagetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// RunLimiter runs the [storage.Limiter] conformance suite. newStore must
// return a fresh, empty store for each subtest and clean it up with
// t.Cleanup.
//
// Windows are taken as aligned on the Unix epoch (window i of length w
// covers [i·w, (i+1)·w)), the grid both backends use; every time comes from
// the now argument, so nothing sleeps.
func RunLimiter(t *testing.T, newStore func(t *testing.T) storage.Limiter) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Limiter)
	}{
		{"Counting", testLimiterCounting},
		{"RetryAfterFloor", testLimiterRetryAfterFloor},
		{"Rollover", testLimiterRollover},
		{"Keys", testLimiterKeys},
		{"Windows", testLimiterWindows},
		{"LimitOne", testLimiterLimitOne},
		{"Race", testRaceAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// windowStart is the start of the epoch-aligned window of length w that
// holds t.
func windowStart(t time.Time, w time.Duration) time.Time {
	return time.Unix(0, t.UnixNano()/int64(w)*int64(w)).UTC()
}

// allow calls Allow and checks ok and retryAfter.
func allow(t *testing.T, s storage.Limiter, key string, limit int, window time.Duration, now time.Time, wantOK bool, wantRetry time.Duration) {
	t.Helper()
	ok, retry, err := s.Allow(t.Context(), key, limit, window, now)
	if err != nil || ok != wantOK || retry != wantRetry {
		t.Errorf("Allow(%q, %d, %v, %v) = %v, %v, %v; want %v, %v, nil", key, limit, window, now.Format(time.StampMicro), ok, retry, err, wantOK, wantRetry)
	}
}

func testLimiterCounting(t *testing.T, s storage.Limiter) {
	start := windowStart(t0, time.Minute).Add(time.Minute)
	now := start.Add(10 * time.Second)
	for i := range 3 {
		allow(t, s, "login:ip", 3, time.Minute, now.Add(time.Duration(i)*time.Second), true, 0)
	}
	// Over the limit: retry when the window ends, from each call's now.
	allow(t, s, "login:ip", 3, time.Minute, now.Add(5*time.Second), false, 45*time.Second)
	allow(t, s, "login:ip", 3, time.Minute, start.Add(59*time.Second), false, time.Second)
}

func testLimiterRetryAfterFloor(t *testing.T, s storage.Limiter) {
	end := windowStart(t0, time.Minute).Add(2 * time.Minute)
	now := end.Add(-100 * time.Millisecond)
	allow(t, s, "k", 1, time.Minute, now, true, 0)
	allow(t, s, "k", 1, time.Minute, now, false, time.Second)
	allow(t, s, "k", 1, time.Minute, end.Add(-time.Nanosecond), false, time.Second)
}

func testLimiterRollover(t *testing.T, s storage.Limiter) {
	start := windowStart(t0, time.Minute).Add(time.Minute)
	for range 2 {
		allow(t, s, "k", 2, time.Minute, start, true, 0)
	}
	allow(t, s, "k", 2, time.Minute, start.Add(time.Minute-time.Nanosecond), false, time.Second)
	// The next window counts from zero.
	next := start.Add(time.Minute)
	allow(t, s, "k", 2, time.Minute, next, true, 0)
	allow(t, s, "k", 2, time.Minute, next.Add(30*time.Second), true, 0)
	allow(t, s, "k", 2, time.Minute, next.Add(31*time.Second), false, 29*time.Second)
	// And a window much later too.
	allow(t, s, "k", 2, time.Minute, next.Add(time.Hour), true, 0)
}

func testLimiterKeys(t *testing.T, s storage.Limiter) {
	now := windowStart(t0, time.Minute).Add(time.Minute + time.Second)
	allow(t, s, "sms:+8613800000000", 1, time.Minute, now, true, 0)
	allow(t, s, "sms:+8613800000000", 1, time.Minute, now, false, 59*time.Second)
	for _, k := range []string{"sms:+8613800000001", "sms:+861380000000", "SMS:+8613800000000", "{sms:+8613800000000}", ""} {
		allow(t, s, k, 1, time.Minute, now, true, 0)
	}
	allow(t, s, "sms:+8613800000000", 1, time.Minute, now, false, 59*time.Second)
}

func testLimiterWindows(t *testing.T, s storage.Limiter) {
	// A key limited per minute and per hour counts each window apart.
	now := windowStart(t0, time.Hour).Add(time.Hour + 30*time.Second)
	allow(t, s, "k", 1, time.Minute, now, true, 0)
	allow(t, s, "k", 1, time.Hour, now, true, 0)
	allow(t, s, "k", 1, time.Minute, now, false, 30*time.Second)
	allow(t, s, "k", 1, time.Hour, now, false, time.Hour-30*time.Second)
	// Seconds-long windows roll over every second.
	for i := range 3 {
		at := now.Add(time.Duration(i) * time.Second)
		allow(t, s, "fast", 1, time.Second, at, true, 0)
		allow(t, s, "fast", 1, time.Second, at.Add(500*time.Millisecond), false, time.Second)
	}
}

func testLimiterLimitOne(t *testing.T, s storage.Limiter) {
	now := windowStart(t0, 10*time.Minute).Add(10*time.Minute + time.Minute)
	allow(t, s, "k", 1, 10*time.Minute, now, true, 0)
	for range 3 {
		allow(t, s, "k", 1, 10*time.Minute, now, false, 9*time.Minute)
	}
}

func testRaceAllow(t *testing.T, s storage.Limiter) {
	ctx := context.WithoutCancel(t.Context())
	const limit = 20
	now := windowStart(t0, time.Minute).Add(time.Minute + time.Second)
	var ok, denied atomic.Int32
	start(raceN, func(i int) {
		allowed, retry, err := s.Allow(ctx, "k", limit, time.Minute, now)
		switch {
		case err != nil:
			t.Errorf("Allow(k) #%d = %v, want nil", i, err)
		case allowed:
			ok.Add(1)
		default:
			denied.Add(1)
			if retry != 59*time.Second {
				t.Errorf("Allow(k) #%d retryAfter = %v, want %v", i, retry, 59*time.Second)
			}
		}
	})
	if ok.Load() != limit || denied.Load() != raceN-limit {
		t.Errorf("%d concurrent Allow(k, limit %d): %d allowed, %d denied; want %d, %d", raceN, limit, ok.Load(), denied.Load(), limit, raceN-limit)
	}
	// Every hit counted: the window stays closed.
	allow(t, s, "k", raceN+1, time.Minute, now, true, 0)
	allow(t, s, "k", raceN+1, time.Minute, now, false, 59*time.Second)
}

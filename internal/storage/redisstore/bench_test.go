package redisstore

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/storage"
)

// BenchmarkSessionMemory reports what a live session costs in Redis, its
// share of the user index included, as the used_memory delta (INFO memory)
// over 100k sessions, 3 per user, with ids as long as real ones and a
// sealed session_key of realistic length on each (target: at most 600
// B/session). The sessions are opened by CreateSession itself, from 32
// goroutines, so that the figure follows whatever the store writes. Needs
// WXAUTH_TEST_REDIS_URL (one node: a cluster spreads the memory over
// nodes); runs only with -bench, and deletes its keys afterwards.
//
//	WXAUTH_TEST_REDIS_URL=redis://127.0.0.1:6379/15 go test -run '^$' -bench SessionMemory -benchtime 1x ./storage/redisstore
func BenchmarkSessionMemory(b *testing.B) {
	s := openTest(b, testURL(b, "WXAUTH_TEST_REDIS_URL"))
	c, ok := s.client.(*redis.Client)
	if !ok {
		b.Skip("needs a single node")
	}
	const n, workers = 100_000, 32
	ctx := b.Context()
	now := time.Now().UTC()
	for b.Loop() {
		// The connections the workers will use are opened first, so that
		// their buffers are not counted as sessions.
		var ready sync.WaitGroup
		for range workers {
			ready.Go(func() { c.Ping(ctx) })
		}
		ready.Wait()
		before := usedMemory(b, c)
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					err := s.CreateSession(ctx, storage.Session{
						ID:        fmt.Sprintf("%022d", i), // the length of a base64url 128-bit id
						UserID:    fmt.Sprintf("user-%016d", i/3),
						App:       "mp",
						CreatedAt: now, LastUsedAt: now,
						ExpiresAt: now.Add(7 * 24 * time.Hour), MaxExpiresAt: now.Add(30 * 24 * time.Hour),
						Hash:       sha256.Sum256(fmt.Appendf(nil, "%d", i)),
						SessionKey: sealedKey(i), // as long as a sealed session_key
					})
					if err != nil {
						errs <- fmt.Errorf("CreateSession(#%d) = %w", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		after := usedMemory(b, c)
		b.ReportMetric(float64(after-before)/n, "B/session")
		// A sample session reads back whole, in its user's index.
		if _, err := s.Session(ctx, fmt.Sprintf("%022d", n-1), now); err != nil {
			b.Fatalf("Session() = %v", err)
		}
		if live, err := s.UserSessions(ctx, fmt.Sprintf("user-%016d", (n-1)/3), now); err != nil || len(live) == 0 {
			b.Fatalf("UserSessions() = %d sessions, %v; want the session indexed", len(live), err)
		}
	}
}

func usedMemory(b *testing.B, c *redis.Client) int64 {
	b.Helper()
	info, err := c.Info(b.Context(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}

// BenchmarkRotate measures refreshes: every goroutine rotates its own
// session's chain, one Rotate (one script round trip) per op, and the
// rotations per second are reported. Node and Cluster run when their
// variables are set, like the tests.
//
//	go test -run '^$' -bench Rotate -cpu 1,8,32 ./storage/redisstore
func BenchmarkRotate(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := openTest(b, testURL(b, be.env))
			var seq atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				ctx := b.Context()
				id := "bench-" + strconv.FormatInt(seq.Add(1), 10)
				now := time.Now().UTC()
				tok := func(gen uint64) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "%s.%d", id, gen)) }
				err := s.CreateSession(ctx, storage.Session{
					ID: id, UserID: id, App: "mp", CreatedAt: now, LastUsedAt: now,
					ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(2 * time.Hour), Hash: tok(0),
				})
				if err != nil {
					b.Errorf("CreateSession(%s) = %v", id, err)
					return
				}
				var gen uint64
				for pb.Next() {
					_, out, err := s.Rotate(ctx, storage.RotateRequest{
						SessionID: id, Gen: gen, Hash: tok(gen), NextHash: tok(gen + 1),
						Now: time.Now(), Grace: 30 * time.Second, IdleTTL: time.Hour,
					})
					if err != nil || out != storage.Rotated {
						b.Errorf("Rotate(%s, gen %d) = %v, %v; want rotated", id, gen, out, err)
						return
					}
					gen++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
		})
	}
}

// BenchmarkCreateSession measures opening sessions (what a login costs in
// Redis): the session hash and the user's index entry, with a realistic
// sealed session_key. Node and Cluster run when their variables are set.
//
//	go test -run '^$' -bench CreateSession -cpu 1,32 ./storage/redisstore
func BenchmarkCreateSession(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := openTest(b, testURL(b, be.env))
			var seq atomic.Int64
			now := time.Now().UTC()
			b.RunParallel(func(pb *testing.PB) {
				ctx := b.Context()
				for pb.Next() {
					i := seq.Add(1)
					err := s.CreateSession(ctx, storage.Session{
						ID: fmt.Sprintf("%022d", i), UserID: fmt.Sprintf("user-%016d", i/3), App: "mp",
						CreatedAt: now, LastUsedAt: now,
						ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(2 * time.Hour),
						Hash:       sha256.Sum256(fmt.Appendf(nil, "%d", i)),
						SessionKey: sealedKey(int(i)), // as long as a sealed session_key
					})
					if err != nil {
						b.Errorf("CreateSession(#%d) = %v", i, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
		})
	}
}

// sealedKey is 53 bytes, as long as a session_key sealed by internal/seal.
func sealedKey(i int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "session_key %d", i))
	return append(append([]byte{1}, h[:]...), h[:20]...)
}

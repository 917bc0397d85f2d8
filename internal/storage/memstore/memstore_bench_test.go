package memstore_test

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
)

// BenchmarkSessionMemory reports the heap a session costs, ids included
// (target: 100k sessions in at most 100 MB, about 1 KB each).
func BenchmarkSessionMemory(b *testing.B) {
	const n = 100_000
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := memstore.New()
		for i := range n {
			err := s.CreateSession(b.Context(), storage.Session{
				ID:        fmt.Sprintf("%022d", i), // the length of a base64url 128-bit id
				UserID:    fmt.Sprintf("user-%016d", i/3),
				App:       "mp",
				CreatedAt: now, LastUsedAt: now,
				ExpiresAt: now.Add(7 * 24 * time.Hour), MaxExpiresAt: now.Add(30 * 24 * time.Hour),
				Hash:       sha256.Sum256(fmt.Appendf(nil, "%d", i)),
				SessionKey: sealedKey(i), // as long as a sealed session_key
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/session")
		runtime.KeepAlive(s)
	}
}

// sealedKey is 53 bytes, as long as a session_key sealed by internal/seal.
func sealedKey(i int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "session_key %d", i))
	return append(append([]byte{1}, h[:]...), h[:20]...)
}

package audit_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
)

// BenchmarkWriter is the whole cost of one event on a SQLite file, as in
// `wxauth dev`: Record, and its share of the batch the writer inserts.
// The part a login waits for is Record alone (BenchmarkRecord).
func BenchmarkWriter(b *testing.B) {
	s, err := sqlstore.Open(b.Context(), sqlstore.Config{URL: "sqlite:" + filepath.Join(b.TempDir(), "audit.db"), Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w, err := audit.New(audit.Config{Log: s, QueueSize: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	e := audit.Event{Type: audit.Login, UserID: "u0123456789abcdefghijklmnop", SessionID: "s0123456789abcdefghijklmnop",
		App: "mp", Actor: "user", IP: "203.0.113.7", Detail: "via miniprogram"}
	b.ResetTimer()
	for range b.N {
		w.Record(e)
	}
	if err := w.Close(b.Context()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRecord is what a request pays to record an event: a stamp, the
// metric hook, and a channel send. The queue is drained by a writer whose
// store answers at once.
func BenchmarkRecord(b *testing.B) {
	l := &watchedLog{AuditLog: nopLog{}}
	w, err := audit.New(audit.Config{Log: l, QueueSize: b.N + 1, Recorded: func(audit.Type) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(b.Context())
	e := audit.Event{Type: audit.Login, At: time.Now(), UserID: "u1", SessionID: "s1", App: "mp"}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(e)
		}
	})
}

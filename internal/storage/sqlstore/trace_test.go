package sqlstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
	"github.com/wxauth/wxauth/internal/storage/storagetest"
)

// traceLog records what a Trace hook is told.
type traceLog struct {
	mu      sync.Mutex
	started map[string]int // system → statements
	ended   int
	open    int
	empty   int // statements without text
}

func (l *traceLog) trace(ctx context.Context, system, query string) (context.Context, func(error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started == nil {
		l.started = map[string]int{}
	}
	if strings.TrimSpace(query) == "" {
		l.empty++
	}
	l.started[system]++
	l.open++
	return ctx, func(error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ended++
		l.open--
	}
}

// With a Trace hook, the users suite passes on every backend (SQLite's
// driver wrapped, PostgreSQL through pgx's tracer) and the hook hears of
// every statement, each ended.
func TestTraceHook(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "Postgres" {
				skipWithoutPostgres(t)
			}
			system := map[string]string{"Postgres": "postgresql"}[b.name]
			if system == "" {
				system = "sqlite"
			}
			var log traceLog
			t.Run("Users", func(t *testing.T) {
				storagetest.RunUsers(t, func(t *testing.T) storage.Users {
					s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: b.url(t), Migrate: true, Trace: log.trace})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.Close() })
					return s
				})
			})
			log.mu.Lock()
			defer log.mu.Unlock()
			if log.started[system] < 100 || log.open != 0 || log.empty != 0 {
				t.Errorf("Trace heard of %v statements, %d still open, %d without text; want 100+ on %s, none open, all with text",
					log.started, log.open, log.empty, system)
			}
		})
	}
}

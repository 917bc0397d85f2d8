package sqlstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
	"github.com/wxauth/wxauth/internal/storage/storagetest"
)

// open opens url with Migrate and closes it in t.Cleanup.
func open(t *testing.T, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: url, Migrate: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", url, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return s
}

// backends are the databases every suite runs on; url gives a fresh, empty
// database for each call (or skips).
var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"SQLiteFile", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "wxauth.db") }},
	{"SQLiteMemory", func(*testing.T) string { return "sqlite::memory:" }},
	{"Postgres", func(t *testing.T) string { return postgresURL(t) }},
}

func TestUsers(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "Postgres" {
				skipWithoutPostgres(t) // once, not in every subtest
			}
			storagetest.RunUsers(t, func(t *testing.T) storage.Users { return open(t, b.url(t)) })
		})
	}
}

func TestUserAdmin(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "Postgres" {
				skipWithoutPostgres(t)
			}
			storagetest.RunUserAdmin(t, func(t *testing.T) storagetest.UserStore { return open(t, b.url(t)) })
		})
	}
}

func TestSigningKeys(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "Postgres" {
				skipWithoutPostgres(t)
			}
			storagetest.RunSigningKeys(t, func(t *testing.T) storage.SigningKeys { return open(t, b.url(t)) })
		})
	}
}

// TestReopen: what one Store wrote, the next one opened on the same
// database sees (a restart of wxauth).
func TestReopen(t *testing.T) {
	for _, b := range backends {
		if b.name == "SQLiteMemory" {
			continue // gone on Close by design
		}
		t.Run(b.name, func(t *testing.T) { testReopen(t, b.url(t)) })
	}
}

func testReopen(t *testing.T, url string) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 123456789, time.UTC)
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: url, Migrate: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", url, err)
	}
	req := storage.LinkRequest{
		Identity: storage.Identity{AppID: "mp", OpenID: "o1", UnionID: "un1"},
		NewUser:  storage.User{ID: "u1", Phone: "+8613800000000"},
		Now:      now,
	}
	first, err := s.LinkIdentity(t.Context(), req)
	if err != nil {
		t.Fatalf("LinkIdentity() = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}

	// Reopened without Migrate: the schema is current, so that is enough.
	s, err = sqlstore.Open(t.Context(), sqlstore.Config{URL: url})
	if err != nil {
		t.Fatalf("Open(%q) again = %v, want nil", url, err)
	}
	defer s.Close()
	u, err := s.User(t.Context(), "u1")
	if err != nil || !u.CreatedAt.Equal(now) || u.Phone != req.NewUser.Phone {
		t.Errorf("User(u1) after reopening = %+v, %v; want the user created at %v", u, err, now)
	}
	req.Identity.OpenID, req.Identity.AppID, req.NewUser.ID = "o2", "oa", "u2"
	res, err := s.LinkIdentity(t.Context(), req)
	if err != nil || res.Created || res.User.ID != first.User.ID {
		t.Errorf("LinkIdentity(oa/o2, same unionid) after reopening = %+v, %v; want user u1", res, err)
	}
}

// TestMigrate: Migrate alone brings a database up to date for Open without
// Migrate; on PostgreSQL, concurrent migrations (instances starting
// together) all succeed.
func TestMigrate(t *testing.T) {
	for _, b := range backends {
		if b.name == "SQLiteMemory" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			url := b.url(t)
			if s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: url}); !errors.Is(err, sqlstore.ErrNotMigrated) {
				if err == nil {
					s.Close()
				}
				t.Fatalf("Open(fresh database, no Migrate) = %v, want ErrNotMigrated", err)
			}
			n := 1
			if b.name == "Postgres" {
				n = 4
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = sqlstore.Migrate(t.Context(), sqlstore.Config{URL: url}) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Migrate() #%d = %v, want nil", i, err)
				}
			}
			s := open(t, url) // without Migrate
			if err := s.AddSigningKey(t.Context(), storage.SigningKey{ID: "k1", Sealed: []byte("x")}); err != nil {
				t.Errorf("AddSigningKey() after Migrate = %v, want nil", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.db")
	tests := []struct {
		name    string
		cfg     sqlstore.Config
		wantErr string
	}{
		{"empty", sqlstore.Config{}, "URL is empty"},
		{"no scheme", sqlstore.Config{URL: "wxauth.db"}, "no scheme"},
		{"unknown scheme", sqlstore.Config{URL: "mysql://localhost/wxauth"}, `unknown scheme "mysql"`},
		{"postgres pool size", sqlstore.Config{URL: "postgres://u:secret@localhost/wxauth?pool_max_conns=0"}, "pool_max_conns"},
		{"postgres bad URL", sqlstore.Config{URL: "postgresql://u:secret@localhost/wxauth?sslmode=bogus"}, "sslmode"},
		{"empty path", sqlstore.Config{URL: "sqlite:"}, "empty path"},
		{"query in path", sqlstore.Config{URL: "sqlite:" + fresh + "?_pragma=foreign_keys(0)"}, "not allowed"},
		{"corrupt file", sqlstore.Config{URL: "sqlite:" + garbage, Migrate: true}, "not a database"},
		{"missing dir", sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "no", "such", "dir.db"), Migrate: true}, "such/dir.db: migrate: failed to initialize: unable to open database file"},
		{"not migrated", sqlstore.Config{URL: "sqlite:" + fresh}, "schema is not up to date (at version 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlstore.Open(t.Context(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) = nil error, want one containing %q", tt.cfg.URL, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%q) = %v, want an error containing %q", tt.cfg.URL, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Open(%q) = %v, which shows the password", tt.cfg.URL, err)
			}
		})
	}
}

func TestPing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: b.url(t), Migrate: true})
			if err != nil {
				t.Fatalf("Open() = %v, want nil", err)
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping() = %v, want nil", err)
			}
			s.Close()
			if err := s.Ping(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Ping() after Close = %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestOpenUnreachable: a PostgreSQL server that is not there is
// ErrUnavailable at once, not a hang.
func TestOpenUnreachable(t *testing.T) {
	const url = "postgres://wxauth:secret@127.0.0.1:1/wxauth?sslmode=disable"
	for _, migrate := range []bool{false, true} {
		begin := time.Now()
		s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: url, Migrate: migrate})
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("Open(port 1, Migrate %v) = %v, want ErrUnavailable", migrate, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(port 1) = %v, which shows the password", err)
		}
		// Generous for a loaded CI machine; a refused connection takes
		// milliseconds, a hang would take the connect_timeout or more.
		if d := time.Since(begin); d > 3*time.Second {
			t.Errorf("Open(port 1, Migrate %v) took %v, want under 3s", migrate, d)
		}
	}
}

// TestMode: a database that production opened (serve, or migrate alone)
// is refused to a dev server, which opens any other.
func TestMode(t *testing.T) {
	for _, b := range backends {
		if b.name == "SQLiteMemory" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			openClose := func(url string, cfg sqlstore.Config) error {
				cfg.URL = url
				s, err := sqlstore.Open(t.Context(), cfg)
				if err == nil {
					err = s.Close()
				}
				return err
			}
			dev := sqlstore.Config{Migrate: true, Mode: sqlstore.ModeDev}
			// A dev database stays a dev database, as does one opened unmarked.
			url := b.url(t)
			for i, cfg := range []sqlstore.Config{dev, {Migrate: true}, dev} {
				if err := openClose(url, cfg); err != nil {
					t.Fatalf("Open #%d (mode %q) of a dev database = %v, want nil", i, cfg.Mode, err)
				}
			}
			// Production marks it, with Migrate or without.
			for _, prod := range []sqlstore.Config{{Migrate: true, Mode: sqlstore.ModeProduction}, {Mode: sqlstore.ModeProduction}} {
				url := b.url(t)
				if prod.Migrate {
					if err := openClose(url, prod); err != nil {
						t.Fatalf("Open(production, Migrate) = %v", err)
					}
				} else {
					if err := openClose(url, sqlstore.Config{Migrate: true}); err != nil {
						t.Fatal(err)
					}
					if err := openClose(url, prod); err != nil {
						t.Fatalf("Open(production, migrated) = %v", err)
					}
				}
				err := openClose(url, dev)
				if !errors.Is(err, sqlstore.ErrProductionDatabase) {
					t.Fatalf("Open(dev) of a production database = %v, want ErrProductionDatabase", err)
				}
				if !strings.Contains(err.Error(), "production") {
					t.Errorf("error %q does not say why", err)
				}
				// Production and unmarked opens still work, and the mark stays.
				if err := openClose(url, prod); err != nil {
					t.Errorf("Open(production) again = %v", err)
				}
				if err := openClose(url, sqlstore.Config{}); err != nil {
					t.Errorf("Open(unmarked) of a production database = %v", err)
				}
				if err := openClose(url, dev); !errors.Is(err, sqlstore.ErrProductionDatabase) {
					t.Errorf("Open(dev) later = %v, want ErrProductionDatabase", err)
				}
			}
			// `wxauth migrate` marks too.
			url = b.url(t)
			if err := sqlstore.Migrate(t.Context(), sqlstore.Config{URL: url, Mode: sqlstore.ModeProduction}); err != nil {
				t.Fatal(err)
			}
			if err := openClose(url, dev); !errors.Is(err, sqlstore.ErrProductionDatabase) {
				t.Errorf("Open(dev) after Migrate(production) = %v, want ErrProductionDatabase", err)
			}
		})
	}
}

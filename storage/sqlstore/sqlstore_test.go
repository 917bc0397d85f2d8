package sqlstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/storage/sqlstore"
	"github.com/wxauth/wxauth/storage/storagetest"
)

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

func TestUsersSQLiteFile(t *testing.T) {
	storagetest.RunUsers(t, func(t *testing.T) storage.Users {
		return open(t, "sqlite:"+filepath.Join(t.TempDir(), "wxauth.db"))
	})
}

func TestUsersSQLiteMemory(t *testing.T) {
	storagetest.RunUsers(t, func(t *testing.T) storage.Users { return open(t, "sqlite::memory:") })
}

func TestReopen(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "wxauth.db")
	now := time.Date(2026, 3, 1, 8, 0, 0, 123456789, time.UTC)
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: url, Migrate: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", url, err)
	}
	req := storage.LinkRequest{
		Identity: storage.Identity{AppID: "mp", OpenID: "o1", UnionID: "un1", SessionKey: []byte("k")},
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
		{"postgres", sqlstore.Config{URL: "postgres://u:p@localhost/wxauth"}, "not supported yet"},
		{"empty path", sqlstore.Config{URL: "sqlite:"}, "empty path"},
		{"query in path", sqlstore.Config{URL: "sqlite:" + fresh + "?_pragma=foreign_keys(0)"}, "not allowed"},
		{"corrupt file", sqlstore.Config{URL: "sqlite:" + garbage, Migrate: true}, "not a database"},
		{"missing dir", sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "no", "such", "dir.db"), Migrate: true}, "such/dir.db: migrate: failed to initialize: unable to open database file"},
		{"not migrated", sqlstore.Config{URL: "sqlite:" + fresh}, "open with Migrate"},
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
		})
	}
}

func TestPing(t *testing.T) {
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: "sqlite::memory:", Migrate: true})
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	s.Close()
	if err := s.Ping(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Ping() after Close = %v, want ErrUnavailable", err)
	}
}

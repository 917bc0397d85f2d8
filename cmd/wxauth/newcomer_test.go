package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
)

func emptyFile(t *testing.T) string {
	t.Helper()
	return writeFile(t, "")
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wxauth.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// -h on every command prints its usage and flags on stdout and exits 0.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{
		{"dev", "-h"}, {"serve", "-h"}, {"serve", "--help"}, {"sandbox", "-h"}, {"migrate", "-h"},
		{"keys", "-h"}, {"keys", "rotate", "-h"}, {"keys", "list", "-h"}, {"-h"},
		{"admin", "-h"}, {"admin", "user", "find", "-h"}, {"admin", "user", "show", "-h"}, {"admin", "user", "revoke", "-h"}, {"admin", "user", "merge", "-h"},
		{"admin", "user", "disable", "-h"}, {"admin", "user", "enable", "-h"}, {"admin", "user", "delete", "-h"},
		{"admin", "session", "revoke", "-h"},
	} {
		var stdout, stderr strings.Builder
		if err := run(t.Context(), args, &stdout, &stderr, config.Env{}); err != nil {
			t.Errorf("%v: %v, want exit 0", args, err)
		}
		if !strings.Contains(stdout.String(), "Usage: wxauth") && !strings.Contains(stdout.String(), "Usage:\n  wxauth") {
			t.Errorf("%v printed %q, want the usage", args, stdout.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("%v wrote to stderr: %q", args, stderr.String())
		}
		if len(args) == 2 && args[0] != "keys" && args[0] != "admin" && !strings.Contains(stdout.String(), "  -") {
			t.Errorf("%v: no flag lines in %q", args, stdout.String())
		}
	}
	var stderr strings.Builder
	if err := run(t.Context(), []string{"serve", "--nope"}, io.Discard, &stderr, config.Env{}); !errors.Is(err, errUsage) ||
		!strings.Contains(stderr.String(), "flag provided but not defined: -nope") || !strings.Contains(stderr.String(), "-config") {
		t.Errorf("serve --nope = %v, stderr %q; want a usage error naming the flag, then the flags", err, stderr.String())
	}
}

// serve without --config says so first, whatever else is missing.
func TestServeNeedsConfig(t *testing.T) {
	err := run(t.Context(), []string{"serve"}, io.Discard, io.Discard, config.Env{})
	if err == nil || !strings.HasPrefix(err.Error(), "serve: --config is required") {
		t.Errorf("serve = %v, want --config named first", err)
	}
}

// Unknown keys and variables are named with their full path and a
// suggestion; every problem of the file and the environment comes out at
// once, in file order, the same every run.
func TestConfigProblemsTogether(t *testing.T) {
	path := writeFile(t, `issuer: https://auth.example.com
database_url: sqlite:/tmp/x.db
tokens:
  acces_ttl: 2h
  refresh_ttl: banana
apps:
  - name: mp
    kind: miniprogram
    appid: wx1
    secert: x
`)
	env := config.Env{"WXAUTH_ACCES_TTL": "1h", "WXAUTH_TEST_POSTGRES_URL": "postgres://x", "WXAUTH_BIN": "/x"}
	var first string
	for i := range 3 {
		err := run(t.Context(), []string{"serve", "--config", path}, io.Discard, io.Discard, env)
		if err == nil {
			t.Fatal("serve with a bad configuration started")
		}
		msg := err.Error()
		for _, want := range []string{
			"tokens.acces_ttl: unknown key; did you mean access_ttl? (line 4)",
			`tokens.refresh_ttl: "banana" is not a duration like 2h or 30s (line 5)`,
			"apps[0].secert: unknown key; did you mean secret? (line 10)",
			"WXAUTH_ACCES_TTL: unknown variable; did you mean WXAUTH_ACCESS_TTL?",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "WXAUTH_TEST_") || strings.Contains(msg, "WXAUTH_BIN") || strings.Contains(msg, "config.") {
			t.Errorf("error names an exempt variable or a Go type:\n%s", msg)
		}
		if a, b := strings.Index(msg, "line 4"), strings.Index(msg, "line 10"); a > b {
			t.Errorf("problems out of file order:\n%s", msg)
		}
		if i == 0 {
			first = msg
		} else if msg != first {
			t.Errorf("run %d said\n%s\nrun 0 said\n%s", i, msg, first)
		}
	}
}

// migrate and keys list need only the database (no app, no secret), and
// keys list never adds a key; an unmigrated database says what to run.
func TestAdminCommandsNeedOnlyTheDatabase(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "wxauth.db")
	env := config.Env{"WXAUTH_DATABASE_URL": db}
	var out strings.Builder
	err := run(t.Context(), []string{"keys", "list"}, &out, io.Discard, env)
	if err == nil || !errors.Is(err, sqlstore.ErrNotMigrated) || !strings.Contains(err.Error(), "run `wxauth migrate` (or `serve --migrate`)") {
		t.Fatalf("keys list on an empty database = %v, want the migrate hint", err)
	}
	if err := run(t.Context(), []string{"migrate"}, &out, io.Discard, env); err != nil {
		t.Fatalf("migrate with only a database = %v", err)
	}
	out.Reset()
	for range 2 {
		if err := run(t.Context(), []string{"keys", "list"}, &out, io.Discard, env); err != nil {
			t.Fatalf("keys list = %v", err)
		}
	}
	if !strings.Contains(out.String(), "no signing keys yet") || strings.Contains(out.String(), "signing now") {
		t.Errorf("keys list on a database without keys printed %q; it must not add one", out.String())
	}
	if err := run(t.Context(), []string{"keys", "rotate"}, io.Discard, io.Discard, env); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("keys rotate without a secret = %v, want an error naming secret", err)
	}
	env["WXAUTH_SECRET"] = strings.Repeat("s", 32)
	out.Reset()
	if err := run(t.Context(), []string{"keys", "rotate"}, &out, io.Discard, env); err != nil {
		t.Fatalf("keys rotate = %v", err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"keys", "list"}, &out, io.Discard, env); err != nil || !strings.Contains(out.String(), "true") {
		t.Errorf("keys list after rotate = %q, %v; want a signing key", out.String(), err)
	}
}

package sqlstore_test

import (
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create test schemas
)

// postgresEnv names the PostgreSQL server the tests may use, e.g.
// "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".
const postgresEnv = "WXAUTH_TEST_POSTGRES_URL"

// skipWithoutPostgres skips tb unless postgresEnv is set, and returns it.
func skipWithoutPostgres(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(postgresEnv)
	if url == "" {
		tb.Skipf("%s is not set: skipping the PostgreSQL tests", postgresEnv)
	}
	return url
}

// postgresURL creates an empty schema wxauth_test_<random> on the server of
// postgresEnv, drops it in tb.Cleanup, and returns a URL whose sessions
// use it: test runs never see each other's data. It skips tb when
// postgresEnv is not set.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	base := skipWithoutPostgres(tb)
	return freshSchema(tb, base)
}

// freshSchema is postgresURL once the server is known; cleanups go to tb.
func freshSchema(tb testing.TB, base string) string {
	tb.Helper()
	// pool_max_conns is ours, not the server's.
	adminURL, query, _ := strings.Cut(base, "?")
	params, err := url.ParseQuery(query)
	if err != nil {
		tb.Fatalf("%s: %v", postgresEnv, err)
	}
	params.Del("pool_max_conns")
	admin, err := sql.Open("pgx", adminURL+"?"+params.Encode())
	if err != nil {
		tb.Fatalf("sql.Open(%s) = %v", postgresEnv, err)
	}
	tb.Cleanup(func() { admin.Close() })
	schema := "wxauth_test_" + strings.ToLower(rand.Text()[:12]) // base32: [a-z2-7]
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("CREATE SCHEMA %s = %v", schema, err)
	}
	tb.Cleanup(func() {
		// t.Context is done by now.
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("DROP SCHEMA %s = %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

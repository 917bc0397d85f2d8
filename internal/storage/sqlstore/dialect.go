package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wxauth/wxauth/internal/storage"
)

//go:embed migrations
var migrations embed.FS

// dialect is everything that differs between SQL databases. Queries are
// written once, with ? placeholders, in SQL that both dialects accept.
type dialect struct {
	name       string
	goose      goose.Dialect
	migrations fs.FS
	// rebind turns ? placeholders into the dialect's ($1, $2… for PostgreSQL).
	rebind func(query string) string
	// mapError wraps driver errors with the storage sentinels callers test:
	// unique violations as ErrConflict, a busy or unreachable database as
	// ErrUnavailable. Other errors come back unchanged.
	mapError func(err error) error
	// locker, if not nil, makes concurrent migrations wait for each other.
	// SQLite has none: a SQLite file serves one instance, and one process
	// at a time may migrate it.
	locker func() (goose.ProviderOption, error)
	// pingAtOpen: Open first checks that the server answers. (A SQLite file
	// is opened on demand and goose says best what is wrong with it.)
	pingAtOpen bool
	// tableExists is a query of one boolean: whether the table named by
	// its one argument exists (in the search path).
	tableExists string
}

var sqliteDialect = dialect{
	name:        "sqlite",
	goose:       goose.DialectSQLite3,
	migrations:  mustSub(migrations, "migrations/sqlite"),
	rebind:      func(q string) string { return q },
	mapError:    mapSQLiteError,
	tableExists: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)",
}

var postgresDialect = dialect{
	name:        "postgres",
	goose:       goose.DialectPostgres,
	migrations:  mustSub(migrations, "migrations/postgres"),
	rebind:      rebindDollar,
	mapError:    mapPostgresError,
	pingAtOpen:  true,
	tableExists: "SELECT to_regclass($1) IS NOT NULL",
	locker: func() (goose.ProviderOption, error) {
		// A session-level advisory lock, polled every second for up to
		// five minutes: two instances starting together migrate one after
		// the other.
		l, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		return goose.WithSessionLocker(l), nil
	},
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return sub
}

func mapSQLiteError(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	}
	switch e.Code() & 0xff { // primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

// sqliteDSNOptions apply to every SQLite connection: WAL so readers do not
// block the writer, foreign keys enforced, and a wait instead of
// SQLITE_BUSY when another process holds the write lock.
const sqliteDSNOptions = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(normal)"

// openSQLite opens a SQLite database for a "sqlite:" URL (see [Config.URL]):
// a writer pool of one connection whose transactions BEGIN IMMEDIATE (so a
// read-then-write transaction never has to be retried for a lock upgrade),
// and a pool of read-only connections. An in-memory database lives in a
// single connection, shared by both.
func openSQLite(path string, trace Trace) (read, write *sql.DB, err error) {
	switch {
	case path == "":
		return nil, nil, errors.New(`empty path (want "sqlite:PATH" or "sqlite::memory:")`)
	case strings.ContainsAny(path, "?#"):
		return nil, nil, fmt.Errorf("path %q: ? and # are not allowed", path)
	case strings.HasPrefix(path, "file:"):
		return nil, nil, fmt.Errorf("path %q: SQLite URIs are not supported, give a file path", path)
	}
	open := func(dsn string) (*sql.DB, error) { return sql.Open("sqlite", dsn) }
	if trace != nil {
		open = func(dsn string) (*sql.DB, error) { return openTracedSQLite(dsn, trace) }
	}
	if path == ":memory:" {
		db, err := open(":memory:?" + sqliteDSNOptions)
		if err != nil {
			return nil, nil, err
		}
		// Every connection would be a different database: keep exactly one
		// forever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return db, db, nil
	}
	write, err = open(path + "?" + sqliteDSNOptions + "&_pragma=journal_mode(wal)&_txlock=immediate")
	if err != nil {
		return nil, nil, err
	}
	write.SetMaxOpenConns(1)
	read, err = open(path + "?" + sqliteDSNOptions + "&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, nil, err
	}
	read.SetMaxOpenConns(8)
	return read, write, nil
}

// rebindDollar numbers the ? placeholders of query: $1, $2…. The queries of
// this package have no ? inside string literals.
func rebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// mapPostgresError sorts PostgreSQL errors: unique and foreign-key violations are
// ErrConflict; failing to connect, a lost connection, a timeout (ours,
// the caller's, or the server's statement_timeout and lock_timeout), a
// server shutting down or out of connections, and a serialization failure
// or deadlock are ErrUnavailable, worth trying again later.
func mapPostgresError(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "23505", // unique_violation
			code == "23503": // foreign_key_violation: the user was deleted by a concurrent call
			return fmt.Errorf("%w: %w", storage.ErrConflict, err)
		case strings.HasPrefix(code, "08"), // connection exception
			strings.HasPrefix(code, "53"),    // insufficient resources (too many connections…)
			strings.HasPrefix(code, "57"),    // operator intervention: shutdown, query_canceled (statement_timeout)
			code == "55P03",                  // lock_not_available (lock_timeout)
			code == "40001", code == "40P01": // serialization failure, deadlock
			return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
		}
		return err
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, net.ErrClosed) ||
		// The server went away mid-answer (a partition, a restart).
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

// Defaults for a PostgreSQL URL that does not set them (see [Config.URL]).
const (
	pgConnectTimeout = 5 * time.Second
	// pgStatementTimeout is as long as SQLite's busy_timeout: no query of
	// this package should come near it.
	pgStatementTimeout = "5s"
	// pgLockTimeout bounds a wait for a row lock; a login that waits for
	// another one on the same identity waits milliseconds.
	pgLockTimeout = "2s"
	// pgIdleInTxTimeout ends a session that left a transaction open (and
	// its locks held).
	pgIdleInTxTimeout = "30s"
)

// poolParams are the query parameters of a PostgreSQL URL that configure
// the pool and are not sent to the server.
var poolParams = []string{"pool_max_conns"}

// openPostgres opens a pool of PostgreSQL connections for a "postgres://"
// or "postgresql://" URL, through pgx's database/sql driver. The pool is
// not dialled here.
func openPostgres(rawURL string, trace Trace) (*sql.DB, error) {
	base, query, _ := strings.Cut(rawURL, "?")
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("query parameters: %w", err)
	}
	maxConns := 4 * runtime.GOMAXPROCS(0)
	if v := params.Get("pool_max_conns"); v != "" {
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 {
			return nil, fmt.Errorf("pool_max_conns=%q: want a positive integer", v)
		}
	}
	for _, p := range poolParams {
		params.Del(p)
	}
	connString := base
	if len(params) > 0 {
		connString += "?" + params.Encode()
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	if trace != nil {
		cfg.Tracer = pgxTrace{trace}
	}
	if _, ok := params["connect_timeout"]; !ok {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	for k, v := range map[string]string{
		"statement_timeout":                   pgStatementTimeout,
		"lock_timeout":                        pgLockTimeout,
		"idle_in_transaction_session_timeout": pgIdleInTxTimeout,
	} {
		if _, ok := cfg.RuntimeParams[k]; !ok {
			cfg.RuntimeParams[k] = v
		}
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns) // database/sql keeps 2 by default: the rest would be redialled
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

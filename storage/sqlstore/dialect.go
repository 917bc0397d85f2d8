package sqlstore

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wxauth/wxauth/storage"
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
}

var sqliteDialect = dialect{
	name:       "sqlite",
	goose:      goose.DialectSQLite3,
	migrations: mustSub(migrations, "migrations/sqlite"),
	rebind:     func(q string) string { return q },
	mapError:   mapSQLiteError,
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
func openSQLite(path string) (read, write *sql.DB, err error) {
	switch {
	case path == "":
		return nil, nil, errors.New(`empty path (want "sqlite:PATH" or "sqlite::memory:")`)
	case strings.ContainsAny(path, "?#"):
		return nil, nil, fmt.Errorf("path %q: ? and # are not allowed", path)
	case strings.HasPrefix(path, "file:"):
		return nil, nil, fmt.Errorf("path %q: SQLite URIs are not supported, give a file path", path)
	}
	if path == ":memory:" {
		db, err := sql.Open("sqlite", ":memory:?"+sqliteDSNOptions)
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
	write, err = sql.Open("sqlite", path+"?"+sqliteDSNOptions+"&_pragma=journal_mode(wal)&_txlock=immediate")
	if err != nil {
		return nil, nil, err
	}
	write.SetMaxOpenConns(1)
	read, err = sql.Open("sqlite", path+"?"+sqliteDSNOptions+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, nil, err
	}
	read.SetMaxOpenConns(8)
	return read, write, nil
}

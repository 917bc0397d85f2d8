package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"

	"github.com/wxauth/wxauth/internal/redact"
	"github.com/wxauth/wxauth/internal/storage"
)

// Config configures [Open] and [Migrate].
type Config struct {
	// URL names the database:
	//   - "sqlite:PATH": a SQLite file (created if missing), e.g.
	//     "sqlite:/var/lib/wxauth/wxauth.db" or "sqlite:wxauth.db";
	//   - "sqlite::memory:": a private in-memory SQLite database that is gone
	//     on Close, for tests;
	//   - "postgres://USER:PASSWORD@HOST:PORT/DB?PARAMS" (or "postgresql://"):
	//     PostgreSQL, with libpq's URL parameters as pgx reads them
	//     (sslmode, connect_timeout, search_path, application_name…) plus
	//     pool_max_conns, the size of the connection pool (default 4 ×
	//     GOMAXPROCS). Any other parameter is a server setting for every
	//     session. Unless the URL sets them: connect_timeout=5 (seconds),
	//     statement_timeout=5s, lock_timeout=2s,
	//     idle_in_transaction_session_timeout=30s, so that a server that is
	//     down or stuck comes back as [storage.ErrUnavailable] within
	//     seconds instead of hanging a login.
	URL string
	// Logger receives lifecycle messages (migrations applied). Nil discards.
	Logger *slog.Logger
	// Migrate runs the embedded migrations at Open. When false, Open fails if
	// the database schema is behind this build's.
	Migrate bool
	// Mode marks the database as production's, or refuses one so marked;
	// zero does neither (see [Mode]).
	Mode Mode
	// Trace, if set, is told of every SQL statement, on PostgreSQL and
	// SQLite (cmd's tracing, docs/operations.md "Tracing"). Nil: nothing
	// is wrapped.
	Trace Trace
}

// LogValue implements slog.LogValuer: a PostgreSQL URL may carry a
// password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", redact.URLs(c.URL)), slog.Bool("migrate", c.Migrate), slog.String("mode", string(c.Mode)))
}

// Store is a [storage.Users], [storage.SigningKeys] and [storage.AuditLog] on SQL. It is safe
// for concurrent use.
type Store struct {
	d      dialect
	db     *sql.DB // reads
	wdb    *sql.DB // writes; may be db
	reads  *stmtCache
	writes *stmtCache // single-statement writes on wdb; reads when wdb is db
	// rgate and wgate queue the calls that read and write (one gate when
	// db is wdb).
	rgate, wgate gate
	// queries maps each query as written (? placeholders) to the dialect's.
	queries sync.Map
	log     *slog.Logger
}

// stmtCache is a queryer on one pool that prepares each query once and
// reuses it: parsing SQL anew took an eighth of the CPU of an authenticated
// GET /v1/me. database/sql re-prepares a statement on each pooled
// connection as needed.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// QueryRowContext runs a prepared query; if preparing fails, the plain
// query reports the error through the Row.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// QueryContext runs a prepared query.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

var (
	_ storage.Users       = (*Store)(nil)
	_ storage.SigningKeys = (*Store)(nil)
)

// ErrNotMigrated: the database's schema is older than this build's, and
// Open was not asked to migrate it.
var ErrNotMigrated = errors.New("the database schema is not up to date")

// Open connects to the database of cfg.URL, checks that it answers, and
// runs or checks the migrations. A database that cannot be reached is
// reported as [storage.ErrUnavailable]. Its errors never show a password
// (internal/redact).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, err := open(ctx, cfg)
	return s, redact.Error(err)
}

func open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	scheme, rest, ok := strings.Cut(cfg.URL, ":")
	switch {
	case cfg.URL == "":
		return nil, errors.New(`sqlstore: Config.URL is empty (want "sqlite:PATH" or "postgres://…")`)
	case !ok:
		return nil, fmt.Errorf("sqlstore: Config.URL %q has no scheme (want \"sqlite:PATH\" or \"postgres://…\")", cfg.URL)
	case scheme == "sqlite":
		read, write, err := openSQLite(rest, cfg.Trace)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		s.d, s.db, s.wdb = sqliteDialect, read, write
	case scheme == "postgres" || scheme == "postgresql":
		db, err := openPostgres(cfg.URL, cfg.Trace)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open %s: %w", redact.URLs(cfg.URL), err)
		}
		s.d, s.db, s.wdb = postgresDialect, db, db
	default:
		return nil, fmt.Errorf("sqlstore: Config.URL: unknown scheme %q (want \"sqlite:PATH\" or \"postgres://…\")", scheme)
	}
	s.reads, s.rgate = &stmtCache{db: s.db}, newGate(s.db.Stats().MaxOpenConnections)
	s.writes, s.wgate = s.reads, s.rgate
	if s.wdb != s.db {
		s.writes, s.wgate = &stmtCache{db: s.wdb}, newGate(s.wdb.Stats().MaxOpenConnections)
	}
	if err := s.setUp(ctx, cfg.Migrate, cfg.Mode); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", redact.URLs(cfg.URL), err)
	}
	return s, nil
}

// Migrate brings the schema of the database of cfg.URL up to date (cfg.Migrate
// is ignored) and closes it again: `wxauth migrate` runs it before instances
// that open with Migrate false. Concurrent migrations of one PostgreSQL
// database wait for each other (goose's session advisory lock), so
// instances may all start with Migrate; a SQLite file must be migrated by
// one process at a time.
func Migrate(ctx context.Context, cfg Config) error {
	cfg.Migrate = true
	s, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	return s.Close()
}

// setUp checks that the database answers, refuses a production database
// to a dev server, checks the schema (and the file: a corrupt one fails
// here), brings it up to date when migrate is set, and marks a production
// one.
func (s *Store) setUp(ctx context.Context, migrate bool, mode Mode) error {
	if s.d.pingAtOpen {
		if err := s.db.PingContext(ctx); err != nil {
			return fmt.Errorf("connect: %w", s.d.mapError(err))
		}
	}
	if mode == ModeDev {
		if err := s.checkNotProduction(ctx); err != nil {
			return err
		}
	}
	if err := s.schema(ctx, migrate); err != nil {
		return err
	}
	if mode == ModeProduction {
		return s.markProduction(ctx)
	}
	return nil
}

// schema checks the schema's version, or brings it up to date when migrate
// is set.
func (s *Store) schema(ctx context.Context, migrate bool) error {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.d.locker != nil {
		opt, err := s.d.locker()
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, opt)
	}
	p, err := goose.NewProvider(s.d.goose, s.wdb, s.d.migrations, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if !migrate {
		current, target, err := p.GetVersions(ctx)
		if err != nil {
			return fmt.Errorf("schema version: %w", s.d.mapError(err))
		}
		if current < target {
			return fmt.Errorf("%w (at version %d, this build needs %d)", ErrNotMigrated, current, target)
		}
		return nil
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", s.d.mapError(err))
	}
	for _, r := range results {
		s.log.InfoContext(ctx, "sqlstore: migration applied", "dialect", s.d.name, "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.reads.close()
	if s.writes != s.reads {
		s.writes.close()
	}
	err := s.wdb.Close()
	if s.db != s.wdb {
		err = errors.Join(err, s.db.Close())
	}
	return err
}

// Ping implements [storage.Users.Ping]: a query on the read pool.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlstore: ping: %w: %w", storage.ErrUnavailable, err)
	}
	return nil
}

// q returns query with the dialect's placeholders, rebinding each query
// once.
func (s *Store) q(query string) string {
	if r, ok := s.queries.Load(query); ok {
		return r.(string)
	}
	r := s.d.rebind(query)
	s.queries.Store(query, r)
	return r
}

// inTx runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.d.mapError(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return s.d.mapError(tx.Commit())
}

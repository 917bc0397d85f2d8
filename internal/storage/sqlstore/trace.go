package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/jackc/pgx/v5"
)

// Trace is called as each SQL statement starts, with the database system
// ("postgresql", "sqlite") and the statement's text (placeholders, never
// the arguments). It returns the context the statement runs in and a
// function told of the statement's end and error. cmd's tracing makes
// spans with it (docs/operations.md "Tracing"); this package stays free of
// OpenTelemetry.
type Trace func(ctx context.Context, system, query string) (context.Context, func(error))

// pgxTrace runs a Trace as pgx's query tracer: every statement pgx sends,
// transactions' BEGIN and COMMIT included.
type pgxTrace struct{ trace Trace }

type pgxEndKey struct{}

func (p pgxTrace) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	ctx, end := p.trace(ctx, "postgresql", data.SQL)
	return context.WithValue(ctx, pgxEndKey{}, end)
}

func (p pgxTrace) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if end, ok := ctx.Value(pgxEndKey{}).(func(error)); ok {
		end(data.Err)
	}
}

// openTracedSQLite is sql.Open("sqlite", dsn) with every statement run
// through trace: SQLite's driver has no hook, so its connections and
// prepared statements are wrapped.
func openTracedSQLite(dsn string, trace Trace) (*sql.DB, error) {
	plain, err := sql.Open("sqlite", dsn) // connects to nothing: a way to the registered driver
	if err != nil {
		return nil, err
	}
	drv := plain.Driver()
	plain.Close()
	return sql.OpenDB(tracedConnector{drv: drv, dsn: dsn, trace: trace}), nil
}

type tracedConnector struct {
	drv   driver.Driver
	dsn   string
	trace Trace
}

func (c tracedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok { // another driver than this build's: untraced
		return conn, nil
	}
	return &tracedConn{sqliteConn: sc, trace: c.trace}, nil
}

func (c tracedConnector) Driver() driver.Driver { return c.drv }

// sqliteConn is what database/sql uses of a modernc.org/sqlite connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// tracedConn traces the statements run on a connection, directly or
// prepared. Transactions pass through: their statements are traced.
type tracedConn struct {
	sqliteConn
	trace Trace
}

func (c *tracedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ts, ok := st.(sqliteStmt)
	if !ok {
		return st, nil
	}
	return &tracedStmt{sqliteStmt: ts, query: query, trace: c.trace}, nil
}

func (c *tracedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx, end := c.trace(ctx, "sqlite", query)
	r, err := c.sqliteConn.ExecContext(ctx, query, args)
	end(err)
	return r, err
}

func (c *tracedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx, end := c.trace(ctx, "sqlite", query)
	r, err := c.sqliteConn.QueryContext(ctx, query, args)
	end(err)
	return r, err
}

// sqliteStmt is what database/sql uses of a prepared statement.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// tracedStmt is a prepared statement whose runs are traced.
type tracedStmt struct {
	sqliteStmt
	query string
	trace Trace
}

func (s *tracedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	ctx, end := s.trace(ctx, "sqlite", s.query)
	r, err := s.sqliteStmt.ExecContext(ctx, args)
	end(err)
	return r, err
}

func (s *tracedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	ctx, end := s.trace(ctx, "sqlite", s.query)
	r, err := s.sqliteStmt.QueryContext(ctx, args)
	end(err)
	return r, err
}

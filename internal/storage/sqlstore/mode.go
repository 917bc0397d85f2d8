package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Mode is what kind of process opens the database, for [Config.Mode]: a
// production deployment marks its database, and a development server
// refuses a database so marked, so that `wxauth dev` (sandbox logins, an
// SMS inbox anyone on the machine can read) never runs on production users.
type Mode string

const (
	// ModeUnmarked neither marks nor checks the database (tests, `wxauth keys`).
	ModeUnmarked Mode = ""
	// ModeProduction marks the database as production's once its schema is
	// up to date (`wxauth serve`, `wxauth migrate`). The mark stays.
	ModeProduction Mode = "production"
	// ModeDev refuses a database marked production with
	// [ErrProductionDatabase], before migrating or reading anything else.
	ModeDev Mode = "dev"
)

// ErrProductionDatabase: a development server was pointed at a database
// that a production deployment initialised.
var ErrProductionDatabase = errors.New("the database belongs to a production deployment (`wxauth serve` or `wxauth migrate` marked it)")

// metaTable holds the mark (migrations 00003_meta.sql).
const metaTable = "wxauth_meta"

// checkNotProduction returns ErrProductionDatabase when the database is
// marked production. A database without the table (fresh, or older than
// the mark) is not.
func (s *Store) checkNotProduction(ctx context.Context) error {
	var exists bool
	if err := s.wdb.QueryRowContext(ctx, s.d.tableExists, metaTable).Scan(&exists); err != nil {
		return fmt.Errorf("read the database's mode: %w", s.d.mapError(err))
	}
	if !exists {
		return nil
	}
	var mode string
	switch err := s.wdb.QueryRowContext(ctx, s.q("SELECT mode FROM wxauth_meta WHERE id = 1")).Scan(&mode); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("read the database's mode: %w", s.d.mapError(err))
	case Mode(mode) == ModeProduction:
		return ErrProductionDatabase
	}
	return nil
}

// markProduction marks the database as production's (idempotent; instances
// starting together all succeed).
func (s *Store) markProduction(ctx context.Context) error {
	_, err := s.wdb.ExecContext(ctx, s.q("INSERT INTO wxauth_meta (id, mode) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET mode = excluded.mode"),
		string(ModeProduction))
	if err != nil {
		return fmt.Errorf("mark the database as production: %w", s.d.mapError(err))
	}
	return nil
}

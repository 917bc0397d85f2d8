// Package sqlstore keeps users, their WeChat identities and the token-signing
// keys in SQL: [Store] implements [storage.Users] and [storage.SigningKeys]
// on SQLite (modernc.org/sqlite, pure Go) and on PostgreSQL (pgx through its
// database/sql driver). [Config.URL] picks the database: "sqlite:PATH",
// "sqlite::memory:" or "postgres://…".
//
// It owns the schema (embedded goose migrations under migrations/<dialect>,
// run by [Open] when [Config.Migrate] is set, or by [Migrate] alone) and
// makes each method atomic with a transaction or a single statement. The
// uniqueness rules are constraints in the schema, not only checks in Go:
// (app_id, open_id) is the identities' primary key, a phone is UNIQUE among
// users, and the unions table maps each unionid to one user, so concurrent
// logins cannot create two users for one person. Violations come back as
// [storage.ErrConflict]; a database that cannot be reached or does not answer
// in time as [storage.ErrUnavailable]. Times are stored as Unix nanoseconds
// (INTEGER, BIGINT) in both dialects.
//
// [Store.LinkIdentity] finds a returning user with one prepared read on
// the read pool (the identity joined to its user): one round trip, no
// write and no commit, so the logins of known users neither wait for the
// writer (SQLite) nor flush the WAL (PostgreSQL). Only a new identity, or
// one that learns its unionid, takes a write transaction. The sealed WeChat
// session_key is not kept here but on the session (storage.Session), since
// it belongs to one login.
//
// What differs between SQL dialects (placeholders, driver errors, DSN
// options, pool, migration locking) is kept in dialect.go; the queries
// themselves are portable (ON CONFLICT … DO NOTHING and UPDATE … RETURNING
// exist in both SQLite and PostgreSQL).
//
// # SQLite
//
// One writer connection whose transactions BEGIN IMMEDIATE, so writers are
// serialised and never retried, and a pool of read-only connections (WAL).
// A SQLite file serves one instance, and one process at a time may migrate it.
//
// # PostgreSQL
//
// One pool of pool_max_conns connections (a URL parameter; default 4 ×
// GOMAXPROCS), used at READ COMMITTED. Calls beyond the pool size wait
// in a first-come-first-served queue (gate.go). Unless the URL says
// otherwise, a connection attempt gives up after 5 s (connect_timeout), a
// statement after 5 s (statement_timeout), a lock wait after 2 s
// (lock_timeout), and the server ends a session idle in a transaction for
// 30 s. Open pings the server first, so a server that is down fails Open
// with ErrUnavailable in milliseconds (connection refused) or within
// connect_timeout (no answer). A server lost in the middle of a call is
// bounded by the caller's context, which should carry a deadline.
//
// A login that must write (a new identity, a unionid to fill in) takes a
// transaction; when a concurrent login inserted the same identity or
// unionid first, a unique key stops it and it starts over, finding what
// the other stored. [Migrate] and Open with
// Migrate hold goose's session advisory lock, so instances that start
// together migrate one after the other.
//
// The audit trail is kept here too ([storage.AuditLog], table
// audit_events), appended in batches by internal/audit.
//
// Sessions are not kept here: they live in memstore or, shared between
// instances, in redisstore.
package sqlstore

// Package sqlstore keeps users and their WeChat identities in SQL: [Store]
// implements [storage.Users] on SQLite today (modernc.org/sqlite, pure Go),
// PostgreSQL next.
//
// It owns the schema (embedded goose migrations under migrations/<dialect>,
// run by [Open] when [Config.Migrate] is set) and makes each method atomic
// with a transaction. The uniqueness rules are constraints in the schema, not
// only checks in Go: (app_id, open_id) is the identities' primary key, a
// phone is UNIQUE among users, and the unions table maps each unionid to one
// user, so concurrent logins cannot create two users for one person.
// Violations come back as [storage.ErrConflict].
//
// What differs between SQL dialects (placeholders, driver errors, DSN
// options) is kept in dialect.go; the queries themselves are portable
// (ON CONFLICT … DO NOTHING exists in both SQLite and PostgreSQL).
//
// Sessions are not kept here: they live in memstore or, shared between
// instances, in redisstore.
package sqlstore

-- The sealed session_key moves from the identity to the session (Redis or
-- memory): it belongs to one login, and keeping it here made every
-- returning user's login a write. Sealed keys are not carried over: each
-- login brings a new one with its new session. (DROP COLUMN needs SQLite
-- 3.35; modernc.org/sqlite bundles a later one.)

-- +goose Up
ALTER TABLE identities DROP COLUMN session_key;

-- +goose Down
-- Sealed by the caller; NULL when none was given.
ALTER TABLE identities ADD COLUMN session_key BLOB;

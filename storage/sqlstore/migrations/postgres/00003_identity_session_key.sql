-- The sealed session_key moves from the identity to the session (Redis or
-- memory): it belongs to one login, and keeping it here made every
-- returning user's login an UPDATE (a WAL flush). Sealed keys are not
-- carried over: each login brings a new one with its new session.

-- +goose Up
ALTER TABLE identities DROP COLUMN session_key;

-- +goose Down
-- Sealed by the caller; NULL when none was given.
ALTER TABLE identities ADD COLUMN session_key BYTEA;

-- A disabled user cannot log in or refresh (storage.User.Disabled).
-- STRICT tables have no BOOLEAN: 0 or 1.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));

-- +goose Down
ALTER TABLE users DROP COLUMN disabled;

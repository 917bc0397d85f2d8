-- Token-signing keys shared by all instances (storage.SigningKeys).
-- Times are Unix nanoseconds, UTC; 0 stands for the zero time.

-- +goose Up
CREATE TABLE signing_keys (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    -- The private key, sealed by the caller.
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    active_at  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signing_keys;

-- Users and their WeChat identities (storage.Users).
-- Times are Unix nanoseconds, UTC; 0 stands for the zero time.

-- +goose Up
CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY,
    nickname   TEXT    NOT NULL DEFAULT '',
    avatar_url TEXT    NOT NULL DEFAULT '',
    -- E.164; NULL when the user has none, so that many users can have none.
    phone      TEXT    UNIQUE CHECK (phone <> ''),
    -- Not a foreign key: a share link may name a user that is gone.
    inviter_id TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE identities (
    app_id      TEXT    NOT NULL,
    open_id     TEXT    NOT NULL,
    -- NULL when the app is not bound to an Open Platform account.
    union_id    TEXT    CHECK (union_id <> ''),
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, open_id)
) STRICT;

CREATE INDEX identities_user ON identities (user_id, created_at);

-- One user per unionid: two logins racing to create a user for the same
-- unionid cannot both insert here.
CREATE TABLE unions (
    union_id TEXT NOT NULL PRIMARY KEY CHECK (union_id <> ''),
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE
) STRICT;

-- +goose Down
DROP TABLE unions;
DROP TABLE identities;
DROP TABLE users;

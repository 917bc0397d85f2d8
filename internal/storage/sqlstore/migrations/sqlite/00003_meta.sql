-- Facts about the database itself, one row. mode 'production': `wxauth
-- serve` or `wxauth migrate` opened it, and `wxauth dev` refuses it
-- (sqlstore.Config.Mode).

-- +goose Up
CREATE TABLE wxauth_meta (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    mode TEXT    NOT NULL CHECK (mode IN ('production'))
) STRICT;

-- +goose Down
DROP TABLE wxauth_meta;

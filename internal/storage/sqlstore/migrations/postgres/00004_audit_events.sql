-- The audit trail (storage.AuditLog, docs/operations.md "Audit trail").
-- Times are Unix nanoseconds, UTC. Empty strings, not NULLs, for absent ids.

-- +goose Up
CREATE TABLE audit_events (
    -- The pagination cursor: newest first is id DESC.
    id            BIGSERIAL NOT NULL PRIMARY KEY,
    type          TEXT      NOT NULL CHECK (type <> ''),
    at            BIGINT    NOT NULL,
    user_id       TEXT      NOT NULL DEFAULT '',
    other_user_id TEXT      NOT NULL DEFAULT '',
    session_id    TEXT      NOT NULL DEFAULT '',
    app           TEXT      NOT NULL DEFAULT '',
    actor         TEXT      NOT NULL DEFAULT '',
    ip            TEXT      NOT NULL DEFAULT '',
    detail        TEXT      NOT NULL DEFAULT ''
);

-- ?user= matches either id; ?type= alone; retention deletes by time.
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_other_user ON audit_events (other_user_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose Down
DROP TABLE audit_events;

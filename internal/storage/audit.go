package storage

import (
	"context"
	"time"
)

// AuditEvent is one stored audit record (internal/audit.Event as kept).
// It never holds a token, code, session key or phone number; the writer
// sees to that, the store only keeps what it is given.
type AuditEvent struct {
	// ID is given by the store on append: unique and increasing in the
	// order of appends, so that it serves as a pagination cursor.
	ID          int64
	Type        string
	At          time.Time
	UserID      string
	OtherUserID string
	SessionID   string
	App         string
	Actor       string
	IP          string
	Detail      string
}

// AuditQuery selects audit events for [AuditLog.AuditEvents]. Zero fields
// select everything.
type AuditQuery struct {
	// UserID matches an event's UserID or OtherUserID.
	UserID string
	Type   string
	// Since keeps events at or after it.
	Since time.Time
	// Before keeps events whose ID is below it: the cursor of the page
	// before (the last ID it returned). Zero: from the newest.
	Before int64
	// Limit is the most events returned; it must be positive.
	Limit int
}

// AuditLog stores the audit trail (docs/operations.md "Audit trail").
type AuditLog interface {
	// AppendAudit stores events in one transaction: all or none. IDs in
	// the events are ignored; the store numbers them in slice order (a
	// concurrent append may take numbers in between).
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// AuditEvents lists the events q selects, newest (highest ID) first.
	AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// PurgeAudit deletes the events older than before and says how many.
	// Running it twice, or on two instances at once, deletes nothing twice.
	PurgeAudit(ctx context.Context, before time.Time) (int64, error)
}

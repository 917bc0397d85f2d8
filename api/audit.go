package api

import "time"

// AuditEvent is one record of GET /v1/admin/audit (docs/operations.md
// "Audit trail"). Empty fields are left out.
type AuditEvent struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	At          time.Time `json:"at"`
	UserID      string    `json:"user_id,omitempty"`
	OtherUserID string    `json:"other_user_id,omitempty"`
	SessionID   string    `json:"session_id,omitempty"`
	App         string    `json:"app,omitempty"`
	Actor       string    `json:"actor,omitempty"`
	IP          string    `json:"ip,omitempty"`
	Detail      string    `json:"detail,omitempty"`
}

// AuditPage is the body of GET /v1/admin/audit: newest first;
// NextCursor, when not empty, asks for the next (older) page.
type AuditPage struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

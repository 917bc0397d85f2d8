package api

// AccountExport is the answer of GET /v1/me/export: the account as the
// admin API shows it (GET /v1/admin/users/{id}), the user's audit events
// still kept, and in words what wxauth does not keep.
type AccountExport struct {
	AdminAccount
	Events  []AuditEvent `json:"events"`
	NotHeld []string     `json:"not_held"`
}

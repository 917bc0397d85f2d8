// Package audit names the security events wxauth records (docs/operations.md
// "Audit trail") and the one method that records them. Recording never
// blocks the request that causes it: a Recorder queues, and writes in
// batches elsewhere. [Writer] is that Recorder over a [storage.AuditLog];
// it owns the queue, the batches, the retries, the retention purge and
// what is lost on a crash (the queue). Which events happen where is the
// business of the packages that record them (login, server, oidc).
package audit

import (
	"strconv"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/storage"
)

// Type names an event. The names are the contract of GET /v1/admin/audit
// and of the wxauth_audit_events_total metric's type label.
type Type string

const (
	Login          Type = "login"           // a session opened (any login flow)
	UserCreated    Type = "user_created"    // a login created a new user
	Bind           Type = "bind"            // a bind ticket completed with a phone
	PhoneChanged   Type = "phone_changed"   // a user's phone was set or changed
	RefreshReuse   Type = "refresh_reuse"   // a spent refresh token came back; its session was revoked
	Logout         Type = "logout"          // the user ended a session (or all of theirs)
	Revoked        Type = "revoked"         // a session ended by a service key, the OIDC provider or an admin
	UserDisabled   Type = "user_disabled"   // a user was disabled
	UserEnabled    Type = "user_enabled"    // a user was enabled again
	UserDeleted    Type = "user_deleted"    // a user's account was deleted (by them or an admin)
	UsersMerged    Type = "users_merged"    // an admin merged OtherUserID into UserID
	AdminAction    Type = "admin_action"    // any other action through the admin API or CLI
	AccountExport  Type = "account_export"  // a user downloaded their data
	OIDCCodeReused Type = "oidc_code_reuse" // an OIDC authorization code came back; its tokens were revoked
)

// Event is one audit record. It never carries a token, a code, a session
// key or a phone number: ids say who and what, Detail says how, in words
// an operator reads.
type Event struct {
	Type Type
	At   time.Time
	// UserID is whom the event is about, if anyone; OtherUserID is the
	// second user of a merge (the one absorbed).
	UserID      string
	OtherUserID string
	// SessionID is the session concerned, if one.
	SessionID string
	// App is the configured app name (or oidc:<client_id>) involved.
	App string
	// Actor says who acted: "user", "service_key:<name>", "admin_cli",
	// "system".
	Actor string
	// IP is the client address of the request, when there was one.
	IP string
	// Detail is a short free text ("via mobile_app", "sessions: 3").
	Detail string
}

// Recorder records events. Record must not block on storage; an
// implementation queues the event and reports what it had to drop through
// its own metrics.
type Recorder interface {
	Record(Event)
}

// Discard is a Recorder that records nothing (audit off).
var Discard Recorder = discard{}

type discard struct{}

func (discard) Record(Event) {}

// API is a stored event as the contract shows it (GET /v1/admin/audit,
// GET /v1/me/export).
func API(e storage.AuditEvent) api.AuditEvent {
	return api.AuditEvent{ID: strconv.FormatInt(e.ID, 10), Type: e.Type, At: e.At, UserID: e.UserID,
		OtherUserID: e.OtherUserID, SessionID: e.SessionID, App: e.App, Actor: e.Actor, IP: e.IP, Detail: e.Detail}
}

package account

import (
	"context"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// Export is everything wxauth holds about one user (GET /v1/me/export,
// docs/api.md "Data export"). Field names are the wire names.
type Export struct {
	User       ExportUser       `json:"user"`
	Identities []ExportIdentity `json:"identities"`
	Sessions   []ExportSession  `json:"sessions"`
	// Events are the user's audit events still kept (audit.retention),
	// newest first, at most exportEvents; the last moments' may still be
	// on their way to the database.
	Events []api.AuditEvent `json:"events"`
	// NotHeld lists, in words, what wxauth does not keep.
	NotHeld []string `json:"not_held"`
}

// ExportUser is the user record.
type ExportUser struct {
	ID        string    `json:"id"`
	Nickname  string    `json:"nickname"`
	AvatarURL string    `json:"avatar_url"`
	Phone     string    `json:"phone"`
	InviterID string    `json:"inviter_id"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ExportIdentity is one linked WeChat identity.
type ExportIdentity struct {
	App      string    `json:"app"` // configured app name; empty if no longer configured
	AppID    string    `json:"appid"`
	OpenID   string    `json:"openid"`
	UnionID  string    `json:"unionid"`
	LinkedAt time.Time `json:"linked_at"`
}

// ExportSession is one live session.
type ExportSession struct {
	ID         string    `json:"id"`
	App        string    `json:"app"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	// HasWeChatCredentials: the session keeps the login's sealed WeChat
	// credentials (session_key or OAuth tokens), which are not exported.
	HasWeChatCredentials bool `json:"has_wechat_credentials"`
}

// notHeld is the export's statement of what is not kept.
var notHeld = []string{
	"refresh tokens: only their SHA-256 hashes are stored",
	"access tokens: signed and not stored",
	"WeChat session_key and OAuth tokens: kept sealed with each session, never exported, erased with it",
	"user agents: not stored; client IP addresses: only in the audit events listed here, until the audit retention ends them",
	"SMS codes and bind tickets: hashed or short-lived (minutes), not linked to the account",
}

// Export gathers what is held about userID and records the AccountExport
// event. storage.ErrNotFound for an unknown user.
func (s *Service) Export(ctx context.Context, userID, actor string) (Export, error) {
	u, err := s.cfg.Users.User(ctx, userID)
	if err != nil {
		return Export{}, fmt.Errorf("export user: %w", err)
	}
	ids, err := s.cfg.Users.Identities(ctx, userID)
	if err != nil {
		return Export{}, fmt.Errorf("export identities: %w", err)
	}
	now := s.cfg.Now().UTC()
	sessions, err := s.cfg.Sessions.UserSessions(ctx, userID, now)
	if err != nil {
		return Export{}, fmt.Errorf("export sessions: %w", err)
	}
	out := Export{
		User: ExportUser{ID: u.ID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, Phone: u.Phone,
			InviterID: u.InviterID, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt},
		Identities: make([]ExportIdentity, 0, len(ids)),
		Sessions:   make([]ExportSession, 0, len(sessions)),
		NotHeld:    notHeld,
	}
	if out.Events, err = s.events(ctx, userID); err != nil {
		return Export{}, err
	}
	for _, id := range ids {
		var name string
		if s.cfg.Apps != nil {
			name, _ = s.cfg.Apps(id.AppID)
		}
		out.Identities = append(out.Identities, ExportIdentity{App: name, AppID: id.AppID, OpenID: id.OpenID,
			UnionID: id.UnionID, LinkedAt: id.CreatedAt})
	}
	for _, ss := range sessions {
		out.Sessions = append(out.Sessions, ExportSession{ID: ss.ID, App: ss.App, CreatedAt: ss.CreatedAt,
			LastUsedAt: ss.LastUsedAt, ExpiresAt: ss.ExpiresAt, HasWeChatCredentials: len(ss.SessionKey) > 0})
	}
	s.cfg.Recorder.Record(audit.Event{Type: audit.AccountExport, At: now, UserID: userID, Actor: actor})
	return out, nil
}

// exportEvents bounds the audit events an export carries.
const exportEvents = 1000

// events lists the user's audit events for the export.
func (s *Service) events(ctx context.Context, userID string) ([]api.AuditEvent, error) {
	out := []api.AuditEvent{}
	if s.cfg.AuditLog == nil {
		return out, nil
	}
	events, err := s.cfg.AuditLog.AuditEvents(ctx, storage.AuditQuery{UserID: userID, Limit: exportEvents})
	if err != nil {
		return nil, fmt.Errorf("export audit events: %w", err)
	}
	for _, e := range events {
		out = append(out, audit.API(e))
	}
	return out, nil
}

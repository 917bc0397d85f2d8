package account

import (
	"context"
	"fmt"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// notHeld is the export's statement of what is not kept.
var notHeld = []string{
	"refresh tokens: only their SHA-256 hashes are stored",
	"access tokens: signed and not stored",
	"WeChat session_key and OAuth tokens: kept sealed with each session, never exported, erased with it",
	"user agents: not stored; client IP addresses: only in the audit events listed here, until the audit retention ends them",
	"SMS codes and bind tickets: hashed or short-lived (minutes), not linked to the account",
}

// Export gathers what is held about userID (GET /v1/me/export, in the
// admin API's shape of an account) and records the AccountExport event.
// storage.ErrNotFound for an unknown user.
func (s *Service) Export(ctx context.Context, userID, actor string) (api.AccountExport, error) {
	u, err := s.cfg.Users.User(ctx, userID)
	if err != nil {
		return api.AccountExport{}, fmt.Errorf("export user: %w", err)
	}
	ids, err := s.cfg.Users.Identities(ctx, userID)
	if err != nil {
		return api.AccountExport{}, fmt.Errorf("export identities: %w", err)
	}
	now := s.cfg.Now().UTC()
	sessions, err := s.cfg.Sessions.UserSessions(ctx, userID, now)
	if err != nil {
		return api.AccountExport{}, fmt.Errorf("export sessions: %w", err)
	}
	events, err := s.events(ctx, userID)
	if err != nil {
		return api.AccountExport{}, err
	}
	appName := func(appID string) string {
		if s.cfg.Apps == nil {
			return ""
		}
		name, _ := s.cfg.Apps(appID)
		return name
	}
	out := api.AccountExport{AdminAccount: APIAccount(u, ids, sessions, appName), Events: events, NotHeld: notHeld}
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

package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// Users is what the service needs of the user store.
type Users interface {
	storage.Users
	storage.UserAdmin
}

// Revoker ends every session of a user at once, the revocation push
// included (token.Service.RevokeUser).
type Revoker interface {
	RevokeUser(ctx context.Context, userID string) (int, error)
}

// Config configures a [Service].
type Config struct {
	Users    Users
	Sessions storage.Sessions // read for the export
	Tokens   Revoker
	// Apps names an app id for the export; nil or false leaves the name
	// empty (an app no longer configured).
	Apps func(appID string) (name string, ok bool)
	// Recorder receives the audit events; nil means audit.Discard.
	Recorder audit.Recorder
	// AuditLog is read for the export's events (the audit trail keeps
	// client addresses with user ids); nil: audit off, none to export.
	AuditLog storage.AuditLog
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service deletes, exports, disables and enables accounts.
type Service struct{ cfg Config }

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Users == nil:
		return nil, errors.New("account: Config.Users is required")
	case cfg.Sessions == nil:
		return nil, errors.New("account: Config.Sessions is required")
	case cfg.Tokens == nil:
		return nil, errors.New("account: Config.Tokens is required")
	}
	if cfg.Recorder == nil {
		cfg.Recorder = audit.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// ActorUser is the actor of a step the user took themself.
const ActorUser = "user"

// Delete erases the user: its record and identities go (so a later login
// by the same WeChat account makes a new user), users it invited lose the
// link, and every session ends with the revocation push — deleting a
// session record drops the sealed WeChat credentials it held. The user is
// deleted before its sessions are revoked: a login racing the deletion
// either makes a new user, or opened its session before the revocation
// (which ends it), or finds its user gone when it reads it again after
// opening (login.Service.SignIn, which then logs in a new user).
// storage.ErrNotFound for an unknown user.
func (s *Service) Delete(ctx context.Context, userID, actor string) error {
	_, ids, err := s.cfg.Users.DeleteUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return s.finishDelete(ctx, userID, actor)
	}
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	n, rerr := s.cfg.Tokens.RevokeUser(ctx, userID)
	s.cfg.Recorder.Record(audit.Event{Type: audit.UserDeleted, At: s.cfg.Now().UTC(), UserID: userID, Actor: actor,
		Detail: fmt.Sprintf("identities: %d, sessions: %d", len(ids), n)})
	if n > 0 {
		s.cfg.Recorder.Record(audit.Event{Type: audit.Revoked, At: s.cfg.Now().UTC(), UserID: userID, Actor: actor,
			Detail: fmt.Sprintf("account deleted, sessions: %d", n)})
	}
	if rerr != nil {
		return fmt.Errorf("revoke sessions of deleted user: %w", rerr)
	}
	return nil
}

// finishDelete ends the sessions left to a user who is gone: a deletion
// or a merge whose revocation failed (Redis away) erased the user first,
// so asking again is how the user or the operator finishes it. It still
// answers storage.ErrNotFound: the user may have been merged into another
// rather than deleted, and either way this call deleted nothing.
func (s *Service) finishDelete(ctx context.Context, userID, actor string) error {
	n, err := s.cfg.Tokens.RevokeUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("revoke sessions of a user who is gone: %w", err)
	}
	if n > 0 {
		s.cfg.Recorder.Record(audit.Event{Type: audit.Revoked, At: s.cfg.Now().UTC(), UserID: userID, Actor: actor,
			Detail: fmt.Sprintf("user gone, sessions left: %d", n)})
	}
	return fmt.Errorf("delete user: %w", storage.ErrNotFound)
}

// Disable marks the user disabled and ends its sessions at once (with the
// revocation push); its logins then answer user_disabled (and the ended
// sessions' refreshes invalid_grant).
// storage.ErrNotFound for an unknown user.
func (s *Service) Disable(ctx context.Context, userID, actor string) error {
	if err := s.setDisabled(ctx, userID, true); err != nil {
		return err
	}
	n, err := s.cfg.Tokens.RevokeUser(ctx, userID)
	now := s.cfg.Now().UTC()
	s.cfg.Recorder.Record(audit.Event{Type: audit.UserDisabled, At: now, UserID: userID, Actor: actor,
		Detail: fmt.Sprintf("sessions: %d", n)})
	if n > 0 {
		s.cfg.Recorder.Record(audit.Event{Type: audit.Revoked, At: now, UserID: userID, Actor: actor,
			Detail: fmt.Sprintf("user disabled, sessions: %d", n)})
	}
	if err != nil {
		return fmt.Errorf("revoke sessions of disabled user: %w", err)
	}
	return nil
}

// Enable lets a disabled user log in again. storage.ErrNotFound for an
// unknown user.
func (s *Service) Enable(ctx context.Context, userID, actor string) error {
	if err := s.setDisabled(ctx, userID, false); err != nil {
		return err
	}
	s.cfg.Recorder.Record(audit.Event{Type: audit.UserEnabled, At: s.cfg.Now().UTC(), UserID: userID, Actor: actor})
	return nil
}

func (s *Service) setDisabled(ctx context.Context, userID string, disabled bool) error {
	now := s.cfg.Now().UTC()
	_, err := s.cfg.Users.UpdateUser(ctx, userID, func(u *storage.User) error {
		u.Disabled, u.UpdatedAt = disabled, now
		return nil
	})
	if err != nil {
		return fmt.Errorf("set user disabled: %w", err)
	}
	return nil
}

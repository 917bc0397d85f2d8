package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// ErrNotFound: no such user or live session.
var ErrNotFound = errors.New("admin: not found")

// ErrInvalidQuery: a search names no key, or more than one.
var ErrInvalidQuery = errors.New("admin: give exactly one of id, unionid, openid (with its app)")

// Revoker ends sessions and announces it (token.Service).
type Revoker interface {
	Revoke(ctx context.Context, sessionID string) error
	RevokeUser(ctx context.Context, userID string) (int, error)
}

// Config wires a [Service]. Users, Sessions and Tokens are required.
type Config struct {
	Users    storage.Users
	Sessions storage.Sessions
	Tokens   Revoker
	// Audit records each action; nil: audit.Discard.
	Audit audit.Recorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service runs the admin actions.
type Service struct{ cfg Config }

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Users == nil:
		return nil, errors.New("admin: Config.Users is required")
	case cfg.Sessions == nil:
		return nil, errors.New("admin: Config.Sessions is required")
	case cfg.Tokens == nil:
		return nil, errors.New("admin: Config.Tokens is required")
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Query finds users by exactly one key: ID, UnionID, or OpenID with the
// AppID of its app (an openid means nothing without it).
type Query struct {
	ID      string
	UnionID string
	AppID   string
	OpenID  string
}

// Account is a user with its identities and live sessions.
type Account struct {
	User       storage.User
	Identities []storage.Identity
	Sessions   []storage.Session
}

// Find returns the users a query matches (none is not an error). A search
// is audited as an admin_action: looking someone up is itself an access.
func (s *Service) Find(ctx context.Context, actor string, q Query) ([]storage.User, error) {
	var (
		u    storage.User
		err  error
		kind string
	)
	keys := 0
	for _, k := range []string{q.ID, q.UnionID, q.OpenID} {
		if k != "" {
			keys++
		}
	}
	switch {
	case keys != 1 || (q.OpenID != "") != (q.AppID != ""):
		return nil, ErrInvalidQuery
	case q.ID != "":
		kind = "id"
		u, err = s.cfg.Users.User(ctx, q.ID)
	case q.UnionID != "":
		kind = "unionid"
		u, err = s.cfg.Users.UserByUnionID(ctx, q.UnionID)
	default:
		kind = "openid"
		var id storage.Identity
		if id, err = s.cfg.Users.Identity(ctx, q.AppID, q.OpenID); err == nil {
			u, err = s.cfg.Users.User(ctx, id.UserID)
		}
	}
	s.record(audit.Event{Type: audit.AdminAction, UserID: u.ID, Actor: actor, Detail: "find by " + kind})
	if errors.Is(err, storage.ErrNotFound) {
		return []storage.User{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return []storage.User{u}, nil
}

// Show returns a user's account, or ErrNotFound.
func (s *Service) Show(ctx context.Context, actor, userID string) (Account, error) {
	u, err := s.user(ctx, userID)
	if err != nil {
		return Account{}, err
	}
	ids, err := s.cfg.Users.Identities(ctx, u.ID)
	if err != nil {
		return Account{}, fmt.Errorf("show user: %w", err)
	}
	live, err := s.cfg.Sessions.UserSessions(ctx, u.ID, s.cfg.Now())
	if err != nil {
		return Account{}, fmt.Errorf("show user: %w", err)
	}
	s.record(audit.Event{Type: audit.AdminAction, UserID: u.ID, Actor: actor, Detail: "show"})
	return Account{User: u, Identities: ids, Sessions: live}, nil
}

// RevokeSession ends one live session at once, or ErrNotFound.
func (s *Service) RevokeSession(ctx context.Context, actor, sessionID string) error {
	sess, err := s.cfg.Sessions.Session(ctx, sessionID, s.cfg.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if err := s.cfg.Tokens.Revoke(ctx, sessionID); err != nil {
		return err
	}
	s.record(audit.Event{Type: audit.Revoked, UserID: sess.UserID, SessionID: sessionID, App: sess.App, Actor: actor, Detail: "by admin"})
	return nil
}

// RevokeUser ends every session of a user at once and says how many; an
// unknown user is ErrNotFound.
func (s *Service) RevokeUser(ctx context.Context, actor, userID string) (int, error) {
	if _, err := s.user(ctx, userID); err != nil {
		return 0, err
	}
	n, err := s.cfg.Tokens.RevokeUser(ctx, userID)
	if err != nil {
		return n, err
	}
	s.record(audit.Event{Type: audit.Revoked, UserID: userID, Actor: actor, Detail: fmt.Sprintf("by admin, sessions: %d", n)})
	return n, nil
}

func (s *Service) user(ctx context.Context, id string) (storage.User, error) {
	u, err := s.cfg.Users.User(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, ErrNotFound
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("look up user: %w", err)
	}
	return u, nil
}

func (s *Service) record(e audit.Event) {
	e.At = s.cfg.Now().UTC()
	s.cfg.Audit.Record(e)
}

// APIUser is u as the admin API and `wxauth admin --json` show it.
func APIUser(u storage.User) api.AdminUser {
	return api.AdminUser{ID: u.ID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, Phone: u.Phone,
		InviterID: u.InviterID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// API is a as the admin API and `wxauth admin --json` show it; appName
// names an appid's configured app ("" when none has it: the appid is shown).
func (a Account) API(appName func(appID string) string) api.AdminAccount {
	out := api.AdminAccount{User: APIUser(a.User), Identities: make([]api.AdminIdentity, 0, len(a.Identities)),
		Sessions: make([]api.AdminSession, 0, len(a.Sessions))}
	for _, id := range a.Identities {
		name := ""
		if appName != nil {
			name = appName(id.AppID)
		}
		if name == "" {
			name = id.AppID
		}
		out.Identities = append(out.Identities, api.AdminIdentity{App: name, AppID: id.AppID, OpenID: id.OpenID,
			UnionID: id.UnionID, CreatedAt: id.CreatedAt})
	}
	for _, ss := range a.Sessions {
		out.Sessions = append(out.Sessions, api.AdminSession{ID: ss.ID, App: ss.App, CreatedAt: ss.CreatedAt,
			LastUsedAt: ss.LastUsedAt, ExpiresAt: ss.ExpiresAt})
	}
	return out
}

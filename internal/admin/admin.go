package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/account"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// ErrNotFound: no such user or live session.
var ErrNotFound = errors.New("admin: not found")

// ErrInvalidQuery: a search names no key, or more than one.
var ErrInvalidQuery = errors.New("admin: give exactly one of id, unionid, openid, phone")

// ErrSameUser: a user cannot be merged into itself.
var ErrSameUser = errors.New("admin: a user cannot be merged into itself")

// Revoker ends sessions and announces it (token.Service).
type Revoker interface {
	Revoke(ctx context.Context, sessionID string) error
	RevokeUser(ctx context.Context, userID string) (int, error)
}

// Users is what the admin actions read and change of users.
type Users interface {
	storage.Users
	storage.UserAdmin
}

// Accounts deletes, disables and enables accounts (account.Service): the
// one place that erases a user or shuts them out, for users and admins
// alike. It audits those steps itself.
type Accounts interface {
	Delete(ctx context.Context, userID, actor string) error
	Disable(ctx context.Context, userID, actor string) error
	Enable(ctx context.Context, userID, actor string) error
}

// Config wires a [Service]. All but Audit and Now are required.
type Config struct {
	Users    Users
	Sessions storage.Sessions
	Tokens   Revoker
	Accounts Accounts
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
	case cfg.Accounts == nil:
		return nil, errors.New("admin: Config.Accounts is required")
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Query finds users by exactly one key: ID, UnionID, Phone (E.164), or
// OpenID, in the app of AppID if set, else in every app.
type Query struct {
	ID      string
	UnionID string
	AppID   string
	OpenID  string
	Phone   string
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
	for _, k := range []string{q.ID, q.UnionID, q.OpenID, q.Phone} {
		if k != "" {
			keys++
		}
	}
	switch {
	case keys != 1 || (q.AppID != "" && q.OpenID == ""):
		return nil, ErrInvalidQuery
	case q.OpenID != "" && q.AppID == "":
		return s.findByOpenID(ctx, actor, q.OpenID)
	case q.Phone != "":
		kind = "phone"
		u, err = s.cfg.Users.UserByPhone(ctx, q.Phone)
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

// findByOpenID finds the users of an openid in any app: openids of
// different apps are distinct, so there may be several.
func (s *Service) findByOpenID(ctx context.Context, actor, openID string) ([]storage.User, error) {
	ids, err := s.cfg.Users.IdentitiesByOpenID(ctx, openID)
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	users := []storage.User{}
	for _, id := range ids {
		if slices.ContainsFunc(users, func(u storage.User) bool { return u.ID == id.UserID }) {
			continue
		}
		u, err := s.cfg.Users.User(ctx, id.UserID)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("find user: %w", err)
		}
		users = append(users, u)
		s.record(audit.Event{Type: audit.AdminAction, UserID: u.ID, Actor: actor, Detail: "find by openid"})
	}
	if len(users) == 0 {
		s.record(audit.Event{Type: audit.AdminAction, Actor: actor, Detail: "find by openid"})
	}
	return users, nil
}

// Merge makes one user of two that are one person: every identity of from
// moves to into, from's sessions end (before, and again after, so that none
// opened meanwhile survives) and from is deleted; into keeps its fields
// and takes from's only where its own are empty (storage.UserAdmin). A
// later login by one of from's identities lands on into.
func (s *Service) Merge(ctx context.Context, actor, into, from string) (storage.User, int, error) {
	if into == from {
		return storage.User{}, 0, ErrSameUser
	}
	for _, id := range []string{into, from} {
		if _, err := s.user(ctx, id); err != nil {
			return storage.User{}, 0, err
		}
	}
	n, err := s.cfg.Tokens.RevokeUser(ctx, from)
	if err != nil {
		return storage.User{}, n, err
	}
	u, err := s.cfg.Users.MergeUsers(ctx, into, from, s.cfg.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, n, ErrNotFound
	}
	if err != nil {
		return storage.User{}, n, fmt.Errorf("merge users: %w", err)
	}
	m, err := s.cfg.Tokens.RevokeUser(ctx, from)
	n += m
	s.record(audit.Event{Type: audit.UsersMerged, UserID: into, OtherUserID: from, Actor: actor,
		Detail: fmt.Sprintf("sessions of %s ended: %d", from, n)})
	return u, n, err
}

// Disable shuts a user out: its sessions end at once and its logins
// answer user_disabled (account.Service.Disable, which audits).
func (s *Service) Disable(ctx context.Context, actor, userID string) error {
	return notFound(s.cfg.Accounts.Disable(ctx, userID, actor))
}

// Enable lets a disabled user log in again (account.Service.Enable).
func (s *Service) Enable(ctx context.Context, actor, userID string) error {
	return notFound(s.cfg.Accounts.Enable(ctx, userID, actor))
}

// Delete erases a user, its identities and sessions (account.Service.Delete).
func (s *Service) Delete(ctx context.Context, actor, userID string) error {
	return notFound(s.cfg.Accounts.Delete(ctx, userID, actor))
}

// notFound turns the store's ErrNotFound into this package's.
func notFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotFound
	}
	return err
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
// unknown user without sessions is ErrNotFound.
//
// A user who is gone may still have sessions: a merge or a deletion
// removes the user first and ends the sessions second, and when the
// second step fails (Redis away), running RevokeUser again is how the
// operator finishes it.
func (s *Service) RevokeUser(ctx context.Context, actor, userID string) (int, error) {
	_, lookErr := s.user(ctx, userID)
	if lookErr != nil && !errors.Is(lookErr, ErrNotFound) {
		return 0, lookErr
	}
	n, err := s.cfg.Tokens.RevokeUser(ctx, userID)
	if err != nil {
		return n, err
	}
	if lookErr != nil && n == 0 {
		return 0, lookErr
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

// API is a as the admin API and `wxauth admin --json` show it; appName
// names an appid's configured app ("" when none has it: the appid is shown).
func (a Account) API(appName func(appID string) string) api.AdminAccount {
	return account.APIAccount(a.User, a.Identities, a.Sessions, appName)
}

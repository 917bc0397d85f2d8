package login

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/redirect"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/token"
	"github.com/wxauth/wxauth/wechat"
)

// App kinds this package logs in through.
const KindMiniProgram = "miniprogram"

// ErrUnknownApp: the request names no configured app of the right kind, or
// names none while several could serve it (unknown_app).
var ErrUnknownApp = errors.New("login: unknown app")

// ErrInvalidRequest: a required parameter is missing or malformed
// (invalid_request).
var ErrInvalidRequest = errors.New("login: invalid request")

// App is one configured WeChat application.
type App struct {
	Name, Kind, AppID, Secret string
}

// CodeExchanger is the one WeChat call a mini program login needs;
// *wechat.Client is one.
type CodeExchanger interface {
	Code2Session(ctx context.Context, appID, secret, jsCode string) (wechat.Session, error)
}

// Config configures a [Service].
type Config struct {
	Apps   []App
	WeChat CodeExchanger
	Users  storage.Users
	Tokens *token.Service
	// Seal encrypts session_keys before they are stored with the session.
	Seal *seal.Box
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand makes user ids; nil means crypto/rand.
	Rand io.Reader
	// Logger; nil discards.
	Logger *slog.Logger
	// OAuth is WeChat for the browser logins (official account, website);
	// nil: those logins are refused.
	OAuth OAuthClient
	// OneTime keeps OAuth states and finished logins for duplicate
	// redirects, shared by all instances.
	OneTime storage.OneTime
	// Redirects is the allow-list for redirect_uri and return_to.
	Redirects redirect.List
	// Binder, when set (registration: bind_phone), gets the identities
	// that have no user yet, instead of creating one.
	Binder Binder
	// Limiter and PerUser limit logins per user (counted once the user is
	// known, with the session it opens); nil Limiter: no limit.
	Limiter *ratelimit.Limiter
	PerUser ratelimit.Rule
}

// Service logs users in.
type Service struct {
	cfg  Config
	apps map[string]App
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.WeChat == nil:
		return nil, errors.New("login: Config.WeChat is required")
	case cfg.Users == nil:
		return nil, errors.New("login: Config.Users is required")
	case cfg.Tokens == nil:
		return nil, errors.New("login: Config.Tokens is required")
	case cfg.Seal == nil:
		return nil, errors.New("login: Config.Seal is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, apps: make(map[string]App, len(cfg.Apps))}
	for _, a := range cfg.Apps {
		if _, dup := s.apps[a.Name]; dup {
			return nil, fmt.Errorf("login: app %q configured twice", a.Name)
		}
		s.apps[a.Name] = a
	}
	return s, nil
}

// AppName names the configured app with appID ("" if none), so that
// identities, stored by appid, are shown by the app's key.
func (s *Service) AppName(appID string) string {
	for _, a := range s.apps {
		if a.AppID == appID {
			return a.Name
		}
	}
	return ""
}

// AppID is the appid of the configured app named name.
func (s *Service) AppID(name string) (string, bool) {
	a, ok := s.apps[name]
	return a.AppID, ok
}

// Configured reports whether name is a configured app.
func (s *Service) Configured(name string) bool {
	_, ok := s.apps[name]
	return ok
}

// app finds the app named name of the given kind; with name empty, the one
// app of that kind if there is exactly one.
func (s *Service) app(name, kind string) (App, error) {
	if name == "" {
		var found []App
		for _, a := range s.apps {
			if a.Kind == kind {
				found = append(found, a)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		return App{}, fmt.Errorf("%w: name the app (%d %s apps configured)", ErrUnknownApp, len(found), kind)
	}
	a, ok := s.apps[name]
	if !ok || a.Kind != kind {
		return App{}, fmt.Errorf("%w: no %s app %q", ErrUnknownApp, kind, name)
	}
	return a, nil
}

// MiniProgramRequest is a mini program login.
type MiniProgramRequest struct {
	App     string // app key; empty when exactly one mini program is configured
	Code    string // from wx.login
	Inviter string // optional user id of the inviting friend
}

// Result is a successful login.
type Result struct {
	Tokens token.Pair
	User   storage.User
	// IsNew is true when this login created the user.
	IsNew bool
	// ReturnTo is where a browser login's page sends the user next.
	ReturnTo string
	// BindTicket is set instead of tokens when registration requires a
	// phone and this WeChat identity has no user yet.
	BindTicket string
}

// MiniProgram exchanges a wx.login code (jscode2session, never retried: a
// code works once), finds or creates the user, and opens a session that
// keeps the session_key, sealed (docs/sessions.md "Where the session_key
// goes").
func (s *Service) MiniProgram(ctx context.Context, req MiniProgramRequest) (Result, error) {
	app, err := s.app(req.App, KindMiniProgram)
	if err != nil {
		return Result{}, err
	}
	switch {
	case req.Code == "":
		return Result{}, fmt.Errorf("%w: code is required", ErrInvalidRequest)
	case len(req.Code) > 256:
		return Result{}, fmt.Errorf("%w: code is longer than any wx.login code", ErrInvalidRequest)
	}
	ws, err := s.cfg.WeChat.Code2Session(ctx, app.AppID, app.Secret, req.Code)
	if err != nil {
		return Result{}, fmt.Errorf("exchange code: %w", err)
	}
	sealed, err := s.cfg.Seal.Seal([]byte(ws.SessionKey), SessionKeyContext(app.AppID, ws.OpenID))
	if err != nil {
		return Result{}, err
	}
	return s.finish(ctx, pending{app: app, identity: storage.Identity{AppID: app.AppID, OpenID: ws.OpenID, UnionID: ws.UnionID},
		inviter: req.Inviter, sealed: sealed})
}

// SessionKeyContext binds a sealed session_key to the identity it was
// issued to, so that it opens only for that identity.
func SessionKeyContext(appID, openID string) string { return "session_key|" + appID + "|" + openID }

// pending is what a login knows once WeChat has said who the user is.
type pending struct {
	app      App
	identity storage.Identity
	// nickname and avatar from WeChat's profile (browser logins with
	// snsapi_userinfo or snsapi_login), stored on a new user.
	nickname, avatar string
	inviter          string
	returnTo         string
	// sealed WeChat credentials kept on the session: the session_key, or
	// the OAuth user tokens.
	sealed []byte
}

// finish links the identity to its user — or, when registration requires a
// phone and the identity has none, hands out a bind ticket instead — and
// opens a session.
func (s *Service) finish(ctx context.Context, p pending) (Result, error) {
	if s.cfg.Binder != nil {
		known, err := s.known(ctx, p.identity)
		if err != nil {
			return Result{}, err
		}
		if !known {
			ticket, err := s.cfg.Binder.IssueTicket(ctx, PendingBind{App: p.app.Name, Identity: p.identity,
				Nickname: p.nickname, AvatarURL: p.avatar, Inviter: p.inviter, ReturnTo: p.returnTo, Credentials: p.sealed})
			if err != nil {
				return Result{}, fmt.Errorf("bind ticket: %w", err)
			}
			return Result{ReturnTo: p.returnTo, BindTicket: ticket}, nil
		}
	}
	now := s.cfg.Now().UTC()
	uid, err := s.newUserID()
	if err != nil {
		return Result{}, err
	}
	newUser := storage.User{ID: uid, Nickname: p.nickname, AvatarURL: p.avatar}
	if p.inviter != "" && len(p.inviter) <= 64 {
		// A share link's inviter is recorded only if it names a real user.
		if _, err := s.cfg.Users.User(ctx, p.inviter); err == nil {
			newUser.InviterID = p.inviter
		} else if !errors.Is(err, storage.ErrNotFound) {
			return Result{}, fmt.Errorf("look up inviter: %w", err)
		}
	}
	link, err := s.cfg.Users.LinkIdentity(ctx, storage.LinkRequest{Identity: p.identity, NewUser: newUser, Now: now})
	if err != nil {
		return Result{}, fmt.Errorf("link identity: %w", err)
	}
	u := link.User
	if !link.Created && p.nickname != "" && (u.Nickname != p.nickname || u.AvatarURL != p.avatar) {
		// A returning user's WeChat profile may have changed.
		if nu, err := s.cfg.Users.UpdateUser(ctx, u.ID, func(x *storage.User) error {
			x.Nickname, x.AvatarURL, x.UpdatedAt = p.nickname, p.avatar, now
			return nil
		}); err == nil {
			u = nu
		}
	}
	pair, err := s.open(ctx, p.app, u.ID, p.sealed)
	if err != nil {
		return Result{}, err
	}
	s.cfg.Logger.InfoContext(ctx, "login", "app", p.app.Name, "user_id", u.ID, "sid", pair.Session.ID, "new_user", link.Created)
	return Result{Tokens: pair, User: u, IsNew: link.Created, ReturnTo: p.returnTo}, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newUserID makes an opaque user id: "u" and 26 base32 characters (128 bits).
func (s *Service) newUserID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("user id: %w", err)
	}
	return "u" + strings.ToLower(idEncoding.EncodeToString(b[:])), nil
}

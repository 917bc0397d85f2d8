package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/redirect"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/sms"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/wechat"
)

// WeChat is what the flows ask of WeChat's servers; *wechat.Client is one.
type WeChat interface {
	Code2Session(ctx context.Context, appID, secret, jsCode string) (wechat.Session, error)
	PhoneNumber(ctx context.Context, accessToken, code, openID string) (wechat.PhoneInfo, error)
	AuthorizeURL(p wechat.AuthorizeParams) (string, error)
	OAuthExchange(ctx context.Context, appID, secret, code string) (wechat.OAuthToken, error)
	OAuthRefresh(ctx context.Context, appID, refreshToken string) (wechat.OAuthToken, error)
	OAuthUserInfo(ctx context.Context, accessToken, openID string) (wechat.OAuthUser, error)
	FollowerInfo(ctx context.Context, accessToken, openID string) (wechat.Follower, error)
	WxaCodeUnlimit(ctx context.Context, accessToken string, req wechat.WxaCodeRequest) ([]byte, error)
	CreateQRCode(ctx context.Context, accessToken string, req wechat.QRCodeRequest) (wechat.QRCode, error)
	ShowQRCode(ctx context.Context, ticket string) ([]byte, error)
}

// AppTokens runs calls that need an app access token, refetching once on a
// refused token; *wechat.TokenManager is one.
type AppTokens interface {
	Do(ctx context.Context, appID string, call func(token string) error) error
}

// Config configures a [Service]. Fields marked optional may be zero.
type Config struct {
	Apps []App
	// BindPhone is the registration policy bind_phone: a person WeChat
	// shows us for the first time gets a bind ticket, not a user, until a
	// phone is proven.
	BindPhone bool

	WeChat    WeChat
	AppTokens AppTokens
	Users     storage.Users
	// Sessions are read by the mini program data calls (the session's
	// sealed session_key).
	Sessions storage.Sessions
	// OneTime keeps OAuth flows, bind tickets and SMS codes, shared by
	// every instance.
	OneTime storage.OneTime
	Tokens  *token.Service
	// Seal encrypts WeChat credentials before they are stored with the
	// session.
	Seal *seal.Box
	// Secret keys the hashes of SMS codes and phone numbers kept in the
	// stores (the server secret).
	Secret []byte
	// SMS delivers the codes of the bind flow.
	SMS sms.Sender
	// SMSCountries are the calling codes SMS codes may be sent to ("86",
	// "852"); empty: mainland China only ("86"). A send elsewhere is
	// ErrPhoneNotAllowed.
	SMSCountries []string
	// OnSMSBudgetSpent, when set, is called for each send refused because
	// the daily SMS budget (ratelimit.Rules.SMSDailyBudget) is spent: the
	// alert metric.
	OnSMSBudgetSpent func()
	// Redirects is the allow-list for redirect_uri and return_to.
	Redirects redirect.List
	// Limits says which limits apply (optional: none).
	Limits *ratelimit.Policy

	// QR logins (qrlogin.go). QRTTL is a ticket's lifetime (optional:
	// DefaultQRTTL). Wake wakes the browsers waiting on a ticket on every
	// instance (optional: they notice on their slow re-read). QRAfter
	// times those waits (optional: time.After). QRImages draws the
	// pictures of more kinds of app, by kind (optional: the mini program
	// code only); a kind takes QR logins once it has one.
	QRTTL    time.Duration
	Wake     Waker
	QRAfter  func(time.Duration) <-chan time.Time
	QRImages map[Kind]QRImage

	// Now is the clock (optional: time.Now); After waits on it (optional:
	// time.After). Tests pass a fakeclock's.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Rand makes user ids, tickets, states and codes (optional:
	// crypto/rand).
	Rand io.Reader
	// Logger (optional: discard).
	Logger *slog.Logger
}

// Service logs people in.
type Service struct {
	cfg    Config
	apps   *Apps
	macKey []byte
	// qrImages draws each kind's QR login picture; imageFlight makes one
	// drawing per ticket on this instance.
	qrImages    map[Kind]QRImage
	imageFlight singleflight.Group
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	var missing []string
	for name, absent := range map[string]bool{
		"WeChat": cfg.WeChat == nil, "AppTokens": cfg.AppTokens == nil, "Users": cfg.Users == nil,
		"Sessions": cfg.Sessions == nil, "OneTime": cfg.OneTime == nil, "Tokens": cfg.Tokens == nil,
		"Seal": cfg.Seal == nil, "Secret": len(cfg.Secret) == 0, "SMS": cfg.SMS == nil,
	} {
		if absent {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("login: Config.%s is required", strings.Join(slices.Sorted(slices.Values(missing)), ", Config."))
	}
	apps, err := NewApps(cfg.Apps)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// A key of its own, so that the server secret itself hashes nothing
	// here.
	m := hmac.New(sha256.New, cfg.Secret)
	m.Write([]byte("wxauth bind v1"))
	s := &Service{cfg: cfg, apps: apps, macKey: m.Sum(nil)}
	s.qrImages = map[Kind]QRImage{KindMiniProgram: s.miniProgramCode, KindOfficialAccount: s.FollowQRImage}
	for k, f := range cfg.QRImages {
		s.qrImages[k] = f
	}
	return s, nil
}

// Apps is the app registry.
func (s *Service) Apps() *Apps { return s.apps }

// Identity is who WeChat says the user is: all a login flow has to find
// out before it calls [Service.SignIn].
type Identity struct {
	App     App
	OpenID  string
	UnionID string // empty when the app is not bound to an Open Platform account
	// Nickname and AvatarURL: the WeChat profile, when the flow got one.
	Nickname, AvatarURL string
	// Credentials are WeChat's credentials of this login, sealed by the
	// flow, kept on the session (token.OpenRequest.SessionKey); nil for
	// none.
	Credentials []byte
}

func (id Identity) stored() storage.Identity {
	return storage.Identity{AppID: id.App.AppID, OpenID: id.OpenID, UnionID: id.UnionID}
}

// Options are what a login carries besides the identity.
type Options struct {
	// Inviter is the user id of a share link: recorded on a new user if it
	// names a real one.
	Inviter string
	// ReturnTo is where a browser page sends the user next (checked by the
	// flow), answered with the tokens.
	ReturnTo string
	// Phone is a number the flow has proven belongs to the user (E.164): a
	// new identity goes to the user who has it, and a user without a
	// phone gets it.
	Phone string
}

// Result is a finished login.
type Result struct {
	Tokens token.Pair
	User   storage.User
	// IsNew is true when this login created the user.
	IsNew bool
	// App is the key of the app the login went through.
	App string
	// ReturnTo is Options.ReturnTo.
	ReturnTo string
	// BindTicket is set instead of tokens when registration requires a
	// phone and this person has no user yet.
	BindTicket string

	// sameUser: an account check found the session's own user (check.go).
	sameUser bool
}

// SignIn is the one path from a WeChat identity to a session, which every
// flow takes:
//  1. under bind_phone, a person without a user (by openid, or by unionid
//     through another app) and without a proven phone gets a bind ticket;
//  2. the user is found or created atomically (storage.Users.LinkIdentity:
//     openid, then unionid, then the proven phone, else a new user with
//     the inviter if it is a real user);
//  3. a returning user's WeChat profile and a proven phone it lacks are
//     stored;
//  4. a session opens, charged with the per-user quota.
func (s *Service) SignIn(ctx context.Context, id Identity, opt Options) (Result, error) {
	if s.cfg.BindPhone && opt.Phone == "" {
		known, err := s.known(ctx, id.stored())
		if err != nil {
			return Result{}, err
		}
		if !known {
			ticket, err := s.IssueTicket(ctx, id, opt)
			if err != nil {
				return Result{}, err
			}
			return Result{App: id.App.Name, ReturnTo: opt.ReturnTo, BindTicket: ticket}, nil
		}
	}
	now := s.cfg.Now().UTC()
	uid, err := s.newUserID()
	if err != nil {
		return Result{}, err
	}
	newUser := storage.User{ID: uid, Nickname: id.Nickname, AvatarURL: id.AvatarURL, Phone: opt.Phone}
	if newUser.InviterID, err = s.inviter(ctx, opt.Inviter); err != nil {
		return Result{}, err
	}
	link, err := s.cfg.Users.LinkIdentity(ctx, storage.LinkRequest{Identity: id.stored(), NewUser: newUser, Now: now,
		LinkByPhone: opt.Phone != ""})
	if err != nil {
		return Result{}, fmt.Errorf("link identity: %w", err)
	}
	u := link.User
	if u.Disabled {
		return Result{}, ErrUserDisabled
	}
	if !link.Created {
		if u, err = s.refreshProfile(ctx, u, id, opt.Phone, now); err != nil {
			return Result{}, err
		}
	}
	pair, err := s.open(ctx, id.App, u.ID, id.Credentials)
	if err != nil {
		return Result{}, err
	}
	s.cfg.Logger.InfoContext(ctx, "login", "app", id.App.Name, "user_id", u.ID, "sid", pair.Session.ID, "new_user", link.Created)
	return Result{Tokens: pair, User: u, IsNew: link.Created, App: id.App.Name, ReturnTo: opt.ReturnTo}, nil
}

// known reports whether an identity already has a user: its own, or one
// with the same unionid.
func (s *Service) known(ctx context.Context, id storage.Identity) (bool, error) {
	owner, err := s.owner(ctx, id)
	return owner != "", err
}

// maxInviterLen bounds an inviter id: longer is no user id of ours.
const maxInviterLen = 64

// inviter is the inviter rule: a share link's inviter is recorded only if
// it names a real user.
func (s *Service) inviter(ctx context.Context, id string) (string, error) {
	if id == "" || len(id) > maxInviterLen {
		return "", nil
	}
	_, err := s.cfg.Users.User(ctx, id)
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, storage.ErrNotFound):
		return "", nil
	}
	return "", fmt.Errorf("look up inviter: %w", err)
}

// refreshProfile stores what a returning user's login brings: WeChat's
// current nickname and avatar, and a proven phone the user lacks. A phone
// another user has stays theirs (the login goes on without it).
func (s *Service) refreshProfile(ctx context.Context, u storage.User, id Identity, phone string, now time.Time) (storage.User, error) {
	profile := id.Nickname != "" && (u.Nickname != id.Nickname || u.AvatarURL != id.AvatarURL)
	withPhone := phone != "" && u.Phone == ""
	if !profile && !withPhone {
		return u, nil
	}
	update := func(withPhone bool) func(*storage.User) error {
		return func(v *storage.User) error {
			if profile {
				v.Nickname, v.AvatarURL = id.Nickname, id.AvatarURL
			}
			if withPhone && v.Phone == "" {
				v.Phone = phone
			}
			v.UpdatedAt = now
			return nil
		}
	}
	next, err := s.cfg.Users.UpdateUser(ctx, u.ID, update(withPhone))
	if errors.Is(err, storage.ErrConflict) && withPhone {
		s.cfg.Logger.InfoContext(ctx, "the proven phone belongs to another user; this user keeps none", "user_id", u.ID)
		if !profile {
			return u, nil
		}
		next, err = s.cfg.Users.UpdateUser(ctx, u.ID, update(false))
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("update user: %w", err)
	}
	return next, nil
}

// open opens a session for a user, charging the per-user login quota.
func (s *Service) open(ctx context.Context, app App, userID string, credentials []byte) (token.Pair, error) {
	return s.cfg.Tokens.Open(ctx, token.OpenRequest{UserID: userID, App: app.Name, SessionKey: credentials,
		Quotas: s.cfg.Limits.NewSession(userID)})
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newUserID makes an opaque user id: "u" and 26 base32 characters (128
// bits).
func (s *Service) newUserID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("user id: %w", err)
	}
	return "u" + strings.ToLower(idEncoding.EncodeToString(b[:])), nil
}

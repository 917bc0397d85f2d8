package bind

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/token"
	"github.com/wxauth/wxauth/wechat"
)

// Sentinel errors; package server translates them (docs/api.md "Errors"). Their
// text, after the sentinel's, is written for clients.
var (
	// ErrInvalidTicket: the bind ticket is unknown, used or expired
	// (invalid_ticket): the login starts again.
	ErrInvalidTicket = errors.New("bind: invalid ticket")
	// ErrInvalidSMSCode: the SMS code is wrong, expired, used, or burnt by
	// too many wrong tries (invalid_sms_code).
	ErrInvalidSMSCode = errors.New("bind: invalid sms code")
	// ErrInvalidRequest: a parameter is missing or malformed
	// (invalid_request).
	ErrInvalidRequest = errors.New("bind: invalid request")
	// ErrSMSUnavailable: the Sender failed; the code was not sent.
	ErrSMSUnavailable = errors.New("bind: sms unavailable")
)

// Lifetimes and limits of docs/api.md "Binding".
const (
	// TicketTTL is how long a bind ticket lives (the contract: ≤ 10 min).
	TicketTTL = 10 * time.Minute
	// CodeTTL is how long an SMS code lives.
	CodeTTL = 5 * time.Minute
	// MaxTries is how many times one SMS code may be tried: the right code
	// after MaxTries wrong ones is refused too.
	MaxTries = 5
)

// PurposeBind is the one SMS purpose so far: proving a phone to bind.
const PurposeBind = "bind"

// KindMiniProgram is the app kind whose getPhoneNumber codes Bind exchanges.
const KindMiniProgram = "miniprogram"

// App is one configured WeChat application, as far as binding needs it.
type App struct {
	Name, Kind, AppID string
}

// PhoneNumbers is the WeChat call that exchanges a getPhoneNumber code;
// *wechat.Client is one.
type PhoneNumbers interface {
	PhoneNumber(ctx context.Context, accessToken, code, openID string) (wechat.PhoneInfo, error)
}

// AppTokens runs calls that need an app access token, refetching once on a
// refused token; *wechat.TokenManager is one.
type AppTokens interface {
	Do(ctx context.Context, appID string, call func(token string) error) error
}

// Config configures a [Service].
type Config struct {
	// Apps are the configured apps: a ticket names one by key, and a
	// phone_code is exchanged through a mini program among them.
	Apps    []App
	Users   storage.Users
	OneTime storage.OneTime
	Tokens  *token.Service
	// Sender delivers SMS codes.
	Sender Sender
	// WeChat and AppTokens exchange phone_code; nil: Bind refuses
	// phone_code with ErrInvalidRequest.
	WeChat    PhoneNumbers
	AppTokens AppTokens
	// Secret keys the hashes of SMS codes and phone numbers kept in
	// OneTime and in rate-limit keys (the server secret; required).
	Secret []byte
	// Limiter applies the SMS rules (per phone and per client address) and
	// the login rule LoginPerUser on the session a bind opens; nil: no
	// limits.
	Limiter                                     *ratelimit.Limiter
	SMSPerPhoneMinute, SMSPerPhoneDay, SMSPerIP ratelimit.Rule
	LoginPerUser                                ratelimit.Rule
	// Now is the clock; nil means time.Now. Tickets and codes expire by it
	// (and, in the store, by their TTL on the store's clock).
	Now func() time.Time
	// Rand makes tickets, codes and user ids; nil means crypto/rand.
	Rand io.Reader
	// Logger; nil discards.
	Logger *slog.Logger
}

// Service issues bind tickets, sends SMS codes and binds.
type Service struct {
	cfg    Config
	apps   map[string]App
	macKey []byte
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Users == nil:
		return nil, errors.New("bind: Config.Users is required")
	case cfg.OneTime == nil:
		return nil, errors.New("bind: Config.OneTime is required")
	case cfg.Tokens == nil:
		return nil, errors.New("bind: Config.Tokens is required")
	case cfg.Sender == nil:
		return nil, errors.New("bind: Config.Sender is required")
	case len(cfg.Secret) == 0:
		return nil, errors.New("bind: Config.Secret is required")
	case (cfg.WeChat == nil) != (cfg.AppTokens == nil):
		return nil, errors.New("bind: Config.WeChat and Config.AppTokens go together")
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
			return nil, fmt.Errorf("bind: app %q configured twice", a.Name)
		}
		s.apps[a.Name] = a
	}
	// A key of its own, so that the server secret itself hashes nothing
	// here.
	m := hmac.New(sha256.New, cfg.Secret)
	m.Write([]byte("wxauth bind v1"))
	s.macKey = m.Sum(nil)
	return s, nil
}

// Pending is a login waiting for a phone: what the login learned, kept
// with the ticket until [Service.Bind] finishes it.
type Pending struct {
	// App is the key of the app the login went through.
	App string
	// Identity is the WeChat identity (AppID, OpenID, UnionID; the rest is
	// ignored).
	Identity storage.Identity
	// Nickname, AvatarURL: the profile WeChat gave, for a new user.
	Nickname, AvatarURL string
	// Inviter is the user id of a share link, recorded on a new user if it
	// names a real one.
	Inviter string
	// ReturnTo is answered with the tokens (the login has checked it).
	ReturnTo string
	// SessionKey is the WeChat credential to keep on the session, sealed by
	// the login (token.OpenRequest.SessionKey); nil for none.
	SessionKey []byte
}

// ticketRecord is a Pending as stored, with its expiry on our clock.
type ticketRecord struct {
	App        string    `json:"app"`
	AppID      string    `json:"appid"`
	OpenID     string    `json:"openid"`
	UnionID    string    `json:"unionid,omitempty"`
	Nickname   string    `json:"nickname,omitempty"`
	AvatarURL  string    `json:"avatar_url,omitempty"`
	Inviter    string    `json:"inviter,omitempty"`
	ReturnTo   string    `json:"return_to,omitempty"`
	SessionKey []byte    `json:"session_key,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ticketBytes is the entropy of a ticket: 256 bits, 43 characters.
const ticketBytes = 32

var ticketEncoding = base64.RawURLEncoding

// IssueTicket keeps p for [TicketTTL] under a new one-time ticket and
// returns the ticket, for the login to answer {"bind_required": true,
// "bind_ticket": …} instead of tokens (docs/api.md "Binding"). Only the
// ticket's SHA-256 is stored.
func (s *Service) IssueTicket(ctx context.Context, p Pending) (string, error) {
	if p.Identity.AppID == "" || p.Identity.OpenID == "" {
		return "", errors.New("bind: issue ticket: Identity.AppID and OpenID are required")
	}
	if _, ok := s.apps[p.App]; !ok {
		return "", fmt.Errorf("bind: issue ticket: app %q is not configured", p.App)
	}
	var raw [ticketBytes]byte
	if _, err := io.ReadFull(s.cfg.Rand, raw[:]); err != nil {
		return "", fmt.Errorf("bind: issue ticket: %w", err)
	}
	ticket := ticketEncoding.EncodeToString(raw[:])
	rec := ticketRecord{
		App: p.App, AppID: p.Identity.AppID, OpenID: p.Identity.OpenID, UnionID: p.Identity.UnionID,
		Nickname: p.Nickname, AvatarURL: p.AvatarURL, Inviter: p.Inviter, ReturnTo: p.ReturnTo,
		SessionKey: p.SessionKey, ExpiresAt: s.cfg.Now().UTC().Add(TicketTTL),
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("bind: issue ticket: %w", err)
	}
	key, _ := ticketKey(ticket)
	if err := s.cfg.OneTime.PutOnce(ctx, key, b, TicketTTL); err != nil {
		return "", fmt.Errorf("bind: keep ticket: %w", err)
	}
	s.cfg.Logger.DebugContext(ctx, "bind ticket issued", "app", p.App)
	return ticket, nil
}

// ticketKey is where a ticket's Pending is kept; ok is false for what no
// ticket looks like, which needs no look-up.
func ticketKey(ticket string) (key string, ok bool) {
	if len(ticket) != ticketEncoding.EncodedLen(ticketBytes) {
		return "", false
	}
	if _, err := ticketEncoding.DecodeString(ticket); err != nil {
		return "", false
	}
	sum := sha256.Sum256([]byte(ticket))
	return "bind:ticket:" + hex.EncodeToString(sum[:]), true
}

// pending reads a live ticket without consuming it.
func (s *Service) pending(ctx context.Context, key string) (ticketRecord, error) {
	b, err := s.cfg.OneTime.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return ticketRecord{}, fmt.Errorf("%w: the bind ticket is unknown, used or expired; log in again", ErrInvalidTicket)
	}
	if err != nil {
		return ticketRecord{}, fmt.Errorf("read bind ticket: %w", err)
	}
	var rec ticketRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return ticketRecord{}, fmt.Errorf("read bind ticket: %w", err)
	}
	if !s.cfg.Now().Before(rec.ExpiresAt) {
		return ticketRecord{}, fmt.Errorf("%w: the bind ticket has expired; log in again", ErrInvalidTicket)
	}
	return rec, nil
}

// Request is a bind: the ticket, and either Phone with the SMSCode sent to
// it, or PhoneCode (a mini program getPhoneNumber code).
type Request struct {
	Ticket         string
	Phone, SMSCode string
	PhoneCode      string
}

// Result is a finished bind.
type Result struct {
	Tokens token.Pair
	User   storage.User
	// IsNew is true when the bind created the user, false when it linked
	// the identity to the user who had the phone (or, if the identity was
	// linked meanwhile, to its user).
	IsNew bool
	// App is the app key of the login; ReturnTo the login's return_to.
	App, ReturnTo string
}

// Bind finishes the login that issued req.Ticket once the phone is proven
// (docs/api.md "Binding"). The ticket is checked first (ErrInvalidTicket)
// but consumed only once the phone is proven, so that a mistyped SMS code
// can be corrected; of concurrent binds of one ticket exactly one wins.
// The identity goes to the user who has the phone, else to a new user with
// the phone and the ticket's profile and inviter; then a session opens.
func (s *Service) Bind(ctx context.Context, req Request) (Result, error) {
	switch {
	case req.Ticket == "":
		return Result{}, fmt.Errorf(`%w: "bind_ticket" is required`, ErrInvalidRequest)
	case req.PhoneCode != "" && (req.Phone != "" || req.SMSCode != ""):
		return Result{}, fmt.Errorf(`%w: send "phone" and "sms_code", or "phone_code", not both`, ErrInvalidRequest)
	case req.PhoneCode == "" && (req.Phone == "" || req.SMSCode == ""):
		return Result{}, fmt.Errorf(`%w: send "phone" and "sms_code", or "phone_code"`, ErrInvalidRequest)
	case len(req.PhoneCode) > 256:
		return Result{}, fmt.Errorf(`%w: "phone_code" is longer than any getPhoneNumber code`, ErrInvalidRequest)
	}
	key, ok := ticketKey(req.Ticket)
	if !ok {
		return Result{}, fmt.Errorf("%w: this is not a bind ticket; log in again", ErrInvalidTicket)
	}
	rec, err := s.pending(ctx, key)
	if err != nil {
		return Result{}, err
	}
	var phone string
	if req.PhoneCode != "" {
		if phone, err = s.exchangePhoneCode(ctx, rec, req.PhoneCode); err != nil {
			return Result{}, err
		}
	} else {
		phone = strings.TrimSpace(req.Phone)
		if !ValidPhone(phone) {
			return Result{}, errBadPhone
		}
		if err := s.useCode(ctx, phone, PurposeBind, req.SMSCode); err != nil {
			return Result{}, err
		}
	}
	// The phone is proven: now the ticket is spent, by one caller only.
	if _, err := s.cfg.OneTime.Take(ctx, key); errors.Is(err, storage.ErrNotFound) {
		return Result{}, fmt.Errorf("%w: the bind ticket was used meanwhile; log in again", ErrInvalidTicket)
	} else if err != nil {
		return Result{}, fmt.Errorf("take bind ticket: %w", err)
	}
	return s.register(ctx, rec, phone)
}

var errBadPhone = fmt.Errorf(`%w: "phone" must be in E.164 form: +86 and 11 digits starting with 1, or + and 8 to 15 digits`, ErrInvalidRequest)

// exchangePhoneCode asks WeChat for the number behind a getPhoneNumber
// code, through the ticket's app if it is a mini program (with its openid,
// which WeChat checks), else through the one configured mini program.
func (s *Service) exchangePhoneCode(ctx context.Context, rec ticketRecord, code string) (string, error) {
	if s.cfg.WeChat == nil {
		return "", fmt.Errorf(`%w: "phone_code" is not accepted here; use an SMS code`, ErrInvalidRequest)
	}
	app, openID := s.apps[rec.App], rec.OpenID
	if app.Kind != KindMiniProgram || app.AppID != rec.AppID {
		var mps []App
		for _, a := range s.cfg.Apps {
			if a.Kind == KindMiniProgram {
				mps = append(mps, a)
			}
		}
		if len(mps) != 1 {
			return "", fmt.Errorf(`%w: "phone_code" needs exactly one configured mini program (%d are); use an SMS code`, ErrInvalidRequest, len(mps))
		}
		app, openID = mps[0], ""
	}
	var info wechat.PhoneInfo
	err := s.cfg.AppTokens.Do(ctx, app.AppID, func(tok string) error {
		var err error
		info, err = s.cfg.WeChat.PhoneNumber(ctx, tok, code, openID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("phone number: %w", err)
	}
	if info.Watermark.AppID != "" && info.Watermark.AppID != app.AppID {
		return "", fmt.Errorf(`%w: the phone number was granted to another app`, ErrInvalidRequest)
	}
	return phoneFromWeChat(info)
}

// register links the ticket's identity (to the owner of phone, or to a new
// user with it) and opens the session.
func (s *Service) register(ctx context.Context, rec ticketRecord, phone string) (Result, error) {
	now := s.cfg.Now().UTC()
	uid, err := s.newUserID()
	if err != nil {
		return Result{}, err
	}
	newUser := storage.User{ID: uid, Nickname: rec.Nickname, AvatarURL: rec.AvatarURL, Phone: phone}
	if rec.Inviter != "" && len(rec.Inviter) <= 64 {
		// A share link's inviter is recorded only if it names a real user,
		// as in package login.
		if _, err := s.cfg.Users.User(ctx, rec.Inviter); err == nil {
			newUser.InviterID = rec.Inviter
		} else if !errors.Is(err, storage.ErrNotFound) {
			return Result{}, fmt.Errorf("look up inviter: %w", err)
		}
	}
	link, err := s.cfg.Users.LinkIdentity(ctx, storage.LinkRequest{
		Identity:    storage.Identity{AppID: rec.AppID, OpenID: rec.OpenID, UnionID: rec.UnionID},
		NewUser:     newUser,
		Now:         now,
		LinkByPhone: true,
	})
	if err != nil {
		return Result{}, fmt.Errorf("link identity: %w", err)
	}
	user := link.User
	if !link.Created {
		if user, err = s.fillIn(ctx, user, rec, phone, now); err != nil {
			return Result{}, err
		}
	}
	var quotas []storage.Quota
	if q, ok := s.cfg.Limiter.Quota(s.cfg.LoginPerUser, user.ID); ok {
		quotas = append(quotas, q)
	}
	pair, err := s.cfg.Tokens.Open(ctx, token.OpenRequest{UserID: user.ID, App: rec.App, SessionKey: rec.SessionKey, Quotas: quotas})
	if err != nil {
		return Result{}, err
	}
	s.cfg.Logger.InfoContext(ctx, "bind", "app", rec.App, "user_id", user.ID, "sid", pair.Session.ID, "new_user", link.Created)
	return Result{Tokens: pair, User: user, IsNew: link.Created, App: rec.App, ReturnTo: rec.ReturnTo}, nil
}

// fillIn gives an existing user what it lacks of the bind: the proven
// phone (when the identity reached it by openid or unionid, not by the
// phone), nickname and avatar. A phone that another user has stays theirs.
func (s *Service) fillIn(ctx context.Context, u storage.User, rec ticketRecord, phone string, now time.Time) (storage.User, error) {
	update := func(withPhone bool) func(*storage.User) error {
		return func(v *storage.User) error {
			if withPhone && v.Phone == "" {
				v.Phone = phone
			}
			if v.Nickname == "" {
				v.Nickname = rec.Nickname
			}
			if v.AvatarURL == "" {
				v.AvatarURL = rec.AvatarURL
			}
			v.UpdatedAt = now
			return nil
		}
	}
	needPhone := u.Phone == ""
	if !needPhone && (u.Nickname != "" || rec.Nickname == "") && (u.AvatarURL != "" || rec.AvatarURL == "") {
		return u, nil
	}
	next, err := s.cfg.Users.UpdateUser(ctx, u.ID, update(true))
	if errors.Is(err, storage.ErrConflict) && needPhone {
		s.cfg.Logger.InfoContext(ctx, "bind: the proven phone belongs to another user; the identity's own user keeps none", "user_id", u.ID)
		next, err = s.cfg.Users.UpdateUser(ctx, u.ID, update(false))
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("update user: %w", err)
	}
	return next, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newUserID makes an opaque user id of the same form as package login's:
// "u" and 26 base32 characters (128 bits).
func (s *Service) newUserID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("user id: %w", err)
	}
	return "u" + strings.ToLower(idEncoding.EncodeToString(b[:])), nil
}

// Package mpdata handles what a mini program sends after login: the phone
// number (the getPhoneNumber code, or the legacy encrypted form) and the
// encrypted user profile, decrypted with the session_key kept on the
// caller's session (docs/api.md "Mini program"; WeChat reference §3.5,
// §3.7). It owns the rules: which key, which checks, what is stored, and
// which failure means "log in again" (session_key_expired) rather than "this
// data is forged" (invalid_signature).
package mpdata

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/token"
	"github.com/wxauth/wxauth/wechat"
)

var (
	// ErrSessionKeyExpired: the data cannot be decrypted with the session's
	// session_key (WeChat replaced it, or the session has none): the client
	// logs in again, then asks WeChat for the data again.
	ErrSessionKeyExpired = errors.New("mpdata: session_key expired")
	// ErrInvalidSignature: the data decrypts but its watermark names another
	// app, or raw_data does not match its signature.
	ErrInvalidSignature = errors.New("mpdata: invalid signature")
	// ErrPhoneTaken: the phone already belongs to another user.
	ErrPhoneTaken = errors.New("mpdata: phone taken")
	// ErrNotMiniProgram: the session was not opened by a mini program login.
	ErrNotMiniProgram = errors.New("mpdata: not a mini program session")
	// ErrInvalidRequest: a parameter is missing or malformed.
	ErrInvalidRequest = errors.New("mpdata: invalid request")
)

// WeChat is what this package asks of WeChat; *wechat.Client with a
// *wechat.TokenManager provide it.
type WeChat interface {
	PhoneNumber(ctx context.Context, accessToken, code, openID string) (wechat.PhoneInfo, error)
}

// AppTokens runs calls that need an app access token, refetching once on a
// refused token; *wechat.TokenManager is one.
type AppTokens interface {
	Do(ctx context.Context, appID string, call func(token string) error) error
}

// Config configures a [Service].
type Config struct {
	// Apps are the configured apps, to find a session's appid.
	Apps     []login.App
	WeChat   WeChat
	Tokens   AppTokens
	Users    storage.Users
	Sessions storage.Sessions
	Seal     *seal.Box
	Now      func() time.Time
}

// Service decrypts and stores mini program data.
type Service struct {
	cfg  Config
	apps map[string]login.App
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.WeChat == nil, cfg.Tokens == nil, cfg.Users == nil, cfg.Sessions == nil, cfg.Seal == nil:
		return nil, errors.New("mpdata: Config.WeChat, Tokens, Users, Sessions and Seal are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, apps: map[string]login.App{}}
	for _, a := range cfg.Apps {
		s.apps[a.Name] = a
	}
	return s, nil
}

// caller is who a request comes from: the user, the mini program app of
// the session, the user's openid there, and the session.
type caller struct {
	app    login.App
	openID string
	sess   storage.Session
	userID string
}

func (s *Service) caller(ctx context.Context, userID, sid string) (caller, error) {
	sess, err := s.cfg.Sessions.Session(ctx, sid, s.cfg.Now())
	if errors.Is(err, storage.ErrNotFound) {
		// Revoked between the access-token check and here.
		return caller{}, token.ErrSessionRevoked
	}
	if err != nil {
		return caller{}, fmt.Errorf("look up session: %w", err)
	}
	app, ok := s.apps[sess.App]
	if !ok || app.Kind != login.KindMiniProgram {
		return caller{}, ErrNotMiniProgram
	}
	ids, err := s.cfg.Users.Identities(ctx, userID)
	if err != nil {
		return caller{}, err
	}
	for _, id := range ids {
		if id.AppID == app.AppID {
			return caller{app: app, openID: id.OpenID, sess: sess, userID: userID}, nil
		}
	}
	return caller{}, ErrNotMiniProgram
}

// sessionKey opens the session's sealed session_key.
func (s *Service) sessionKey(c caller) (string, error) {
	if len(c.sess.SessionKey) == 0 {
		return "", ErrSessionKeyExpired
	}
	key, err := s.cfg.Seal.Open(c.sess.SessionKey, login.SessionKeyContext(c.app.AppID, c.openID))
	if err != nil {
		return "", fmt.Errorf("%w: the stored key cannot be opened", ErrSessionKeyExpired)
	}
	return string(key), nil
}

// PhoneRequest is either Code (the getPhoneNumber button's code, current
// API) or EncryptedData and IV (the legacy form).
type PhoneRequest struct {
	Code          string
	EncryptedData string
	IV            string
}

// Phone resolves the caller's phone number and stores it on the user in
// E.164 form. The answer is that form.
func (s *Service) Phone(ctx context.Context, userID, sid string, req PhoneRequest) (string, error) {
	if req.Code == "" && (req.EncryptedData == "" || req.IV == "") {
		return "", fmt.Errorf(`%w: send "code", or "encrypted_data" and "iv"`, ErrInvalidRequest)
	}
	c, err := s.caller(ctx, userID, sid)
	if err != nil {
		return "", err
	}
	var info wechat.PhoneInfo
	if req.Code != "" {
		err = s.cfg.Tokens.Do(ctx, c.app.AppID, func(token string) error {
			var err error
			info, err = s.cfg.WeChat.PhoneNumber(ctx, token, req.Code, c.openID)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("phone number: %w", err)
		}
		if info.Watermark.AppID != "" && info.Watermark.AppID != c.app.AppID {
			return "", fmt.Errorf("%w: watermark names another app", ErrInvalidSignature)
		}
	} else {
		key, err := s.sessionKey(c)
		if err != nil {
			return "", err
		}
		info, err = wechat.DecryptPhone(c.app.AppID, key, req.EncryptedData, req.IV)
		if err != nil {
			return "", decryptError(err)
		}
	}
	phone, err := E164(info.CountryCode, info.PurePhoneNumber, info.PhoneNumber)
	if err != nil {
		return "", err
	}
	if err := s.setPhone(ctx, userID, phone); err != nil {
		return "", err
	}
	return phone, nil
}

func (s *Service) setPhone(ctx context.Context, userID, phone string) error {
	now := s.cfg.Now().UTC()
	_, err := s.cfg.Users.UpdateUser(ctx, userID, func(u *storage.User) error {
		u.Phone = phone
		u.UpdatedAt = now
		return nil
	})
	if errors.Is(err, storage.ErrConflict) {
		return ErrPhoneTaken
	}
	return err
}

// decryptError sorts a decryption failure: data that does not decrypt with
// our key means the key is stale; data that decrypts but names another app
// is forged or misrouted.
func decryptError(err error) error {
	switch {
	case errors.Is(err, wechat.ErrWatermark):
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	case errors.Is(err, wechat.ErrIllegalIV), errors.Is(err, wechat.ErrDecodeBase64):
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	default:
		return fmt.Errorf("%w: %w", ErrSessionKeyExpired, err)
	}
}

// E164 writes a WeChat phone number as +<country><number>.
func E164(countryCode, pure, full string) (string, error) {
	cc := strings.TrimPrefix(strings.TrimSpace(countryCode), "+")
	num := strings.TrimSpace(pure)
	if num == "" {
		num = strings.TrimSpace(full)
		num = strings.TrimPrefix(num, "+"+cc)
	}
	if cc == "" {
		cc = "86"
	}
	p := "+" + cc + num
	if !validE164(p) {
		return "", fmt.Errorf("%w: WeChat returned an unusable phone number", ErrInvalidRequest)
	}
	return p, nil
}

func validE164(p string) bool {
	if len(p) < 8 || len(p) > 16 || p[0] != '+' || p[1] == '0' {
		return false
	}
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// UserInfoRequest is the legacy getUserInfo payload.
type UserInfoRequest struct {
	EncryptedData, IV, RawData, Signature string
}

// UserInfo decrypts the caller's profile, checks its watermark and the
// raw_data signature, and stores nickname and avatar on the user.
func (s *Service) UserInfo(ctx context.Context, userID, sid string, req UserInfoRequest) (storage.User, error) {
	if req.EncryptedData == "" || req.IV == "" || req.RawData == "" || req.Signature == "" {
		return storage.User{}, fmt.Errorf(`%w: "encrypted_data", "iv", "raw_data" and "signature" are required`, ErrInvalidRequest)
	}
	c, err := s.caller(ctx, userID, sid)
	if err != nil {
		return storage.User{}, err
	}
	key, err := s.sessionKey(c)
	if err != nil {
		return storage.User{}, err
	}
	// Decrypt first: data our key cannot open means the key is stale (the
	// signature would fail too, but logging in again is the remedy).
	info, err := wechat.DecryptUserInfo(c.app.AppID, key, req.EncryptedData, req.IV)
	if err != nil {
		return storage.User{}, decryptError(err)
	}
	if !wechat.VerifyRawData(req.RawData, key, req.Signature) {
		return storage.User{}, fmt.Errorf("%w: raw_data does not match its signature", ErrInvalidSignature)
	}
	if info.OpenID != "" && info.OpenID != c.openID {
		return storage.User{}, fmt.Errorf("%w: the data is another user's", ErrInvalidSignature)
	}
	now := s.cfg.Now().UTC()
	return s.cfg.Users.UpdateUser(ctx, userID, func(u *storage.User) error {
		if info.NickName != "" {
			u.Nickname = info.NickName
		}
		if info.AvatarURL != "" {
			u.AvatarURL = info.AvatarURL
		}
		u.UpdatedAt = now
		return nil
	})
}

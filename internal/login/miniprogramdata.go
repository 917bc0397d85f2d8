package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/wechat"
)

// What a mini program sends after login: the phone number (the
// getPhoneNumber code, or the legacy encrypted form) and the encrypted
// profile, decrypted with the session_key kept on the caller's session
// (WeChat reference §3.5, §3.7). Data that does not decrypt means "log in
// again" (session_key_expired); data that decrypts but does not check out
// means "forged or misrouted" (invalid_signature).

// caller is who a request comes from: the user, the mini program app of
// the session, the user's openid there, and the session.
type caller struct {
	app    App
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
	app, ok := s.apps.Named(sess.App)
	if !ok || app.Kind != KindMiniProgram {
		return caller{}, ErrNotMiniProgram
	}
	ids, err := s.cfg.Users.Identities(ctx, userID)
	if err != nil {
		return caller{}, fmt.Errorf("look up identities: %w", err)
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
	key, err := s.cfg.Seal.Open(c.sess.SessionKey, SessionKeyContext(c.app.AppID, c.openID))
	if err != nil {
		return "", ErrSessionKeyExpired.Because(err)
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
// E.164 form, which it answers.
func (s *Service) Phone(ctx context.Context, userID, sid string, req PhoneRequest) (string, error) {
	if req.Code == "" && (req.EncryptedData == "" || req.IV == "") {
		return "", ErrInvalidRequest.Say(`send "code", or "encrypted_data" and "iv"`)
	}
	if len(req.Code) > maxCodeLen {
		return "", ErrInvalidRequest.Say(`"code" is longer than any getPhoneNumber code`)
	}
	c, err := s.caller(ctx, userID, sid)
	if err != nil {
		return "", err
	}
	var info wechat.PhoneInfo
	if req.Code != "" {
		if info, err = s.phoneNumber(ctx, c.app, req.Code, c.openID); err != nil {
			return "", err
		}
	} else {
		key, err := s.sessionKey(c)
		if err != nil {
			return "", err
		}
		if info, err = wechat.DecryptPhone(c.app.AppID, key, req.EncryptedData, req.IV); err != nil {
			return "", decryptError(err)
		}
	}
	phone, err := phoneFromWeChat(info)
	if err != nil {
		return "", err
	}
	_, err = s.cfg.Users.UpdateUser(ctx, userID, func(u *storage.User) error {
		u.Phone = phone
		u.UpdatedAt = s.cfg.Now().UTC()
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrConflict):
		return "", ErrPhoneTaken
	case err != nil:
		return "", fmt.Errorf("store phone: %w", err)
	}
	how := "getPhoneNumber code"
	if req.Code == "" {
		how = "encrypted data"
	}
	s.cfg.Audit.Record(audit.Event{Type: audit.PhoneChanged, UserID: userID, SessionID: sid, App: c.app.Name,
		Actor: "user", IP: audit.IP(ctx), Detail: "set from WeChat's " + how})
	return phone, nil
}

// phoneNumber exchanges a getPhoneNumber code through app (with the
// user's openid there when known, which WeChat checks) and checks that
// the number was granted to that app.
func (s *Service) phoneNumber(ctx context.Context, app App, code, openID string) (wechat.PhoneInfo, error) {
	var info wechat.PhoneInfo
	err := s.cfg.AppTokens.Do(ctx, app.AppID, func(tok string) error {
		var err error
		info, err = s.cfg.WeChat.PhoneNumber(ctx, tok, code, openID)
		return err
	})
	if err != nil {
		return wechat.PhoneInfo{}, fmt.Errorf("phone number: %w", err)
	}
	if info.Watermark.AppID != "" && info.Watermark.AppID != app.AppID {
		return wechat.PhoneInfo{}, ErrInvalidSignature.Say("the phone number was granted to another app")
	}
	return info, nil
}

// decryptError sorts a decryption failure: data that does not decrypt with
// our key means the key is stale; data that decrypts but names another app
// is forged or misrouted.
func decryptError(err error) error {
	switch {
	case errors.Is(err, wechat.ErrWatermark):
		return ErrInvalidSignature.Because(err)
	case errors.Is(err, wechat.ErrIllegalIV):
		return ErrInvalidRequest.Say(`"iv" is not a 16-byte base64 value`).Because(err)
	case errors.Is(err, wechat.ErrDecodeBase64):
		return ErrInvalidRequest.Say(`"encrypted_data" or "iv" is not valid base64`).Because(err)
	default:
		return ErrSessionKeyExpired.Because(err)
	}
}

// UserInfoRequest is the legacy getUserInfo payload.
type UserInfoRequest struct {
	EncryptedData, IV, RawData, Signature string
}

// UserInfo decrypts the caller's profile, checks its watermark and the
// raw_data signature, and stores nickname and avatar on the user.
func (s *Service) UserInfo(ctx context.Context, userID, sid string, req UserInfoRequest) (storage.User, error) {
	if req.EncryptedData == "" || req.IV == "" || req.RawData == "" || req.Signature == "" {
		return storage.User{}, ErrInvalidRequest.Say(`"encrypted_data", "iv", "raw_data" and "signature" are required`)
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
		return storage.User{}, ErrInvalidSignature.Say("raw_data does not match its signature")
	}
	if info.OpenID != "" && info.OpenID != c.openID {
		return storage.User{}, ErrInvalidSignature.Say("the data is another user's")
	}
	now := s.cfg.Now().UTC()
	u, err := s.cfg.Users.UpdateUser(ctx, userID, func(u *storage.User) error {
		if info.NickName != "" {
			u.Nickname = info.NickName
		}
		if info.AvatarURL != "" {
			u.AvatarURL = info.AvatarURL
		}
		u.UpdatedAt = now
		return nil
	})
	if err != nil {
		return storage.User{}, fmt.Errorf("store profile: %w", err)
	}
	return u, nil
}

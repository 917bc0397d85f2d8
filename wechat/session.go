package wechat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
)

const (
	endpointCode2Session = "/sns/jscode2session"
	endpointCheckSession = "/wxa/checksession"
)

// Session is the answer of [Client.Code2Session]: who the Mini Program user
// is, and the key of their encrypted data.
//
// SessionKey is a secret (reference §3.2: never sent to the client). Session
// redacts it when formatted with package fmt (every verb) or logged with
// log/slog; only reading the field gives it.
type Session struct {
	// OpenID identifies the user within this app (reference §4).
	OpenID string
	// UnionID identifies the user across the apps of one Open Platform
	// account; empty when the app is not bound to one.
	UnionID string
	// SessionKey is base64 of the user's 16-byte session key, as WeChat
	// sent it; the key to decrypt their encrypted data (reference §3.7).
	SessionKey string
}

// Code2Session exchanges a wx.login code for the user's [Session]
// (GET /sns/jscode2session, reference §3.2).
//
// It is never retried, by this method or the package: a code works once,
// and a call that failed may still have spent it. On failure ask the Mini
// Program for a new code. Empty arguments are [ErrInvalidRequest] and no
// call is made; a rejected code is [ErrInvalidCode]; a success without
// openid or session_key is [ErrUnexpectedResponse]. See the package
// documentation for the other classes.
func (c *Client) Code2Session(ctx context.Context, appID, secret, jsCode string) (Session, error) {
	switch {
	case appID == "":
		return Session{}, fmt.Errorf("%w: code2session: empty app ID", ErrInvalidRequest)
	case secret == "":
		return Session{}, fmt.Errorf("%w: code2session: empty secret", ErrInvalidRequest)
	case jsCode == "":
		return Session{}, fmt.Errorf("%w: code2session: empty code", ErrInvalidRequest)
	}
	q := url.Values{
		"appid":      {appID},
		"secret":     {secret},
		"js_code":    {jsCode},
		"grant_type": {"authorization_code"},
	}
	var resp code2SessionResponse
	if err := c.getJSON(ctx, endpointCode2Session, q, &resp); err != nil {
		return Session{}, err
	}
	return Session{OpenID: resp.OpenID, UnionID: resp.UnionID, SessionKey: resp.SessionKey}, nil
}

// code2SessionResponse is the success answer of /sns/jscode2session.
type code2SessionResponse struct {
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid"`
	SessionKey string `json:"session_key"`
}

func (r *code2SessionResponse) validate() error {
	switch {
	case r.OpenID == "":
		return errMissingField("openid")
	case r.SessionKey == "":
		return errMissingField("session_key")
	}
	return nil
}

// CheckSessionKey asks WeChat whether sessionKey is still openID's current
// session_key (GET /wxa/checksession, reference §3.3); nil means it is.
// accessToken is the app access token (see [TokenManager.Do]). The key
// itself is not sent, only a signature made with it.
//
// A stale or wrong key is [ErrSessionKeyStale] (errcode 87009); a refused
// access token is [ErrTokenInvalid]; empty arguments are
// [ErrInvalidRequest] and no call is made.
func (c *Client) CheckSessionKey(ctx context.Context, accessToken, openID, sessionKey string) error {
	switch {
	case accessToken == "":
		return fmt.Errorf("%w: check session key: empty access token", ErrInvalidRequest)
	case openID == "":
		return fmt.Errorf("%w: check session key: empty openid", ErrInvalidRequest)
	case sessionKey == "":
		return fmt.Errorf("%w: check session key: empty session key", ErrInvalidRequest)
	}
	q := url.Values{
		"access_token": {accessToken},
		"openid":       {openID},
		"signature":    {sessionKeySignature(sessionKey, "")},
		"sig_method":   {"hmac_sha256"},
	}
	return c.getJSON(ctx, endpointCheckSession, q, nil)
}

// sessionKeySignature is the login-state signature of reference §3.3:
// lowercase hex of HMAC-SHA256 keyed with the session_key's base64 text as
// received (not its decoded bytes), over message (empty for checksession
// and resetusersessionkey).
func sessionKeySignature(sessionKey, message string) string {
	mac := hmac.New(sha256.New, []byte(sessionKey))
	mac.Write([]byte(message))
	return hex.EncodeToString(mac.Sum(nil))
}

// redactedKey stands for a SessionKey in formatted and logged output.
func redactedKey(key string) string {
	if key == "" {
		return ""
	}
	return redacted
}

// LogValue implements [slog.LogValuer]: openid and unionid, and the
// session_key redacted.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("openid", s.OpenID),
		slog.String("unionid", s.UnionID),
		slog.String("session_key", redactedKey(s.SessionKey)),
	)
}

// String returns the Session with its SessionKey redacted.
func (s Session) String() string {
	return fmt.Sprintf("{OpenID:%s UnionID:%s SessionKey:%s}", s.OpenID, s.UnionID, redactedKey(s.SessionKey))
}

// GoString returns the Session as Go syntax with its SessionKey redacted.
func (s Session) GoString() string {
	return fmt.Sprintf("wechat.Session{OpenID:%q, UnionID:%q, SessionKey:%q}", s.OpenID, s.UnionID, redactedKey(s.SessionKey))
}

// Format implements [fmt.Formatter] so that no verb or flag prints the
// SessionKey: %#v gives GoString, every other verb String.
func (s Session) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
)

// newSessionKeyLocked gives key a fresh session_key, base64 of 16 random
// bytes (reference §3.2), retiring the old one: a user has one valid
// session_key at a time (§3.1). s.mu must be held.
func (s *Sandbox) newSessionKeyLocked(key appUser) (string, error) {
	b := make([]byte, 16)
	if err := s.readRand(b); err != nil {
		return "", err
	}
	k := base64.StdEncoding.EncodeToString(b)
	s.sessionKeys[key] = k
	return k, nil
}

// RotateSessionKey replaces user's session_key in the Mini Program appID
// now, as WeChat does when a key expires or after another wx.login
// (reference §3.1, §3.9): encrypted data made from now on uses the new
// key, and checksession answers 87009 for the old one. A user who has not
// logged in to the app yet has no key to replace ([ErrNotFound]), as do
// unknown apps and users.
func (s *Sandbox) RotateSessionKey(appID, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.miniProgramUserLocked(appID, user); err != nil {
		return err
	}
	key := appUser{appID, user}
	if s.sessionKeys[key] == "" {
		return fmt.Errorf("user %q has not logged in to app %q yet: %w", user, appID, ErrNotFound)
	}
	if _, err := s.newSessionKeyLocked(key); err != nil {
		return fmt.Errorf("rotate session key: %w", err)
	}
	return nil
}

// sessionSignature is the signature that proves knowledge of sessionKey to
// checksession and resetusersessionkey (reference §3.3): lowercase hex of
// HMAC-SHA256 keyed with the session_key's base64 text, over the empty
// message.
func sessionSignature(sessionKey string) string {
	return hex.EncodeToString(hmac.New(sha256.New, []byte(sessionKey)).Sum(nil))
}

// checkSessionRequestLocked checks what checksession and
// resetusersessionkey share (reference §3.3, §3.4): the app access token
// (41001, 40001, 42001), sig_method (87008 unless hmac_sha256), the openid
// (40003 if it is no user's in the token's app: the reference gives no
// errcode, and §1.1 uses 40003 for an openid that does not belong to the
// app), and the signature (87009 unless it proves the user's current
// session_key; a user who never logged in has none). s.mu must be held.
func (s *Sandbox) checkSessionRequestLocked(r *http.Request) (appUser, errcode) {
	q := r.URL.Query()
	tok, code := s.checkAppTokenLocked(q.Get("access_token"), s.now())
	if code != 0 {
		return appUser{}, code
	}
	if q.Get("sig_method") != "hmac_sha256" {
		return appUser{}, 87008
	}
	name, ok := s.userByOpenIDLocked(tok.appID, q.Get("openid"))
	if !ok {
		return appUser{}, 40003
	}
	key := appUser{tok.appID, name}
	current := s.sessionKeys[key]
	if current == "" || !hmac.Equal([]byte(q.Get("signature")), []byte(sessionSignature(current))) {
		return appUser{}, 87009
	}
	return key, 0
}

// userByOpenIDLocked finds the user whose openid in appID is openid. s.mu
// must be held.
func (s *Sandbox) userByOpenIDLocked(appID, openid string) (string, bool) {
	if openid == "" {
		return "", false
	}
	for name := range s.users {
		if openID(appID, name) == openid {
			return name, true
		}
	}
	return "", false
}

// checkSession imitates GET /wxa/checksession (reference §3.3): errcode 0
// when the signature proves the user's current session_key, else 87009.
func (s *Sandbox) checkSession(r *http.Request) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, code := s.checkSessionRequestLocked(r); code != 0 {
		return code
	}
	return okBody{Errmsg: "ok"}
}

// resetAnswer is resetusersessionkey's success body (reference §3.4).
type resetAnswer struct {
	Errcode    int    `json:"errcode"`
	Errmsg     string `json:"errmsg"`
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
}

// resetUserSessionKey imitates GET /wxa/resetusersessionkey (reference
// §3.4): with a signature proving the current session_key it answers a new
// one, and the old one stops working at once. A bad signature answers
// 87009 (likely but unverified, §8). The sandbox's session keys have no
// expiry, so "the new key keeps the old key's expiry" holds trivially;
// WeChat's limits on repeated resets are not imitated.
func (s *Sandbox) resetUserSessionKey(r *http.Request) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, code := s.checkSessionRequestLocked(r)
	if code != 0 {
		return code
	}
	k, err := s.newSessionKeyLocked(key)
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox session key", "err", err)
		return errcode(-1)
	}
	return resetAnswer{Errmsg: "ok", OpenID: openID(key.appID, key.user), SessionKey: k}
}

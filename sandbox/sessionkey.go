package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// DefaultSessionKeyTTL is how long a session_key lasts without use before
// it lapses. WeChat publishes no lifetime: keys last while the user keeps
// using the Mini Program and lapse after long inactivity, about three days
// by a WeChat community answer (reference §3.9).
const DefaultSessionKeyTTL = 72 * time.Hour

// SessionKeyPolicy says when the sandbox replaces a Mini Program user's
// session_key, as WeChat may (reference §3.1, §3.9; the wx.login and
// wx.checkSession docs). WeChat publishes no numbers, hence the switches.
// The zero value is WeChat's rule at its strictest: every code issued
// replaces the key, and a key unused for [DefaultSessionKeyTTL] lapses.
type SessionKeyPolicy struct {
	// RotateOnCode says whether issuing a wx.login code (what wx.login and
	// WeChat's background data pre-fetch do) replaces the user's
	// session_key, retiring the old one even if the code is never
	// exchanged. Exchanging a code never rotates: jscode2session answers
	// the user's current key. Nil means true.
	RotateOnCode *bool
	// MinRotation is the least time between two rotations by code issue:
	// a code issued sooner after the key was made keeps it (the wx.login
	// doc: the refresh has a minimum period, not every call refreshes).
	// Zero means every code rotates.
	MinRotation time.Duration
	// TTL is how long a key lasts without use: issuing or exchanging a
	// code and making encrypted data use it (checksession does not). A
	// lapsed key fails checksession and resetusersessionkey (87009), and
	// the user's next code or encrypted data comes with a new key. Zero
	// means [DefaultSessionKeyTTL].
	TTL time.Duration
}

func (p SessionKeyPolicy) validate() error {
	switch {
	case p.MinRotation < 0:
		return fmt.Errorf("MinRotation is negative (%v)", p.MinRotation)
	case p.TTL < 0:
		return fmt.Errorf("TTL is negative (%v)", p.TTL)
	}
	return nil
}

// withDefaults fills the zero fields with WeChat's behaviour; RotateOnCode
// points to a bool of its own.
func (p SessionKeyPolicy) withDefaults() SessionKeyPolicy {
	on := p.RotateOnCode == nil || *p.RotateOnCode
	p.RotateOnCode = &on
	if p.TTL == 0 {
		p.TTL = DefaultSessionKeyTTL
	}
	return p
}

// sessionKey is one user's session_key in one Mini Program: a user has
// one valid key at a time (reference §3.1).
type sessionKey struct {
	key  string
	made time.Time // when this key replaced the previous one
	used time.Time // last use; the key lapses TTL after it
}

// policyLocked is appID's session_key policy, defaults filled. s.mu must
// be held.
func (s *Sandbox) policyLocked(appID string) SessionKeyPolicy {
	if a, ok := s.apps[appID]; ok && a.SessionKey != nil {
		return a.SessionKey.withDefaults()
	}
	return s.keyPolicy.withDefaults()
}

// currentKeyLocked is key's session_key at now, or nil if the user has
// none or it lapsed. s.mu must be held.
func (s *Sandbox) currentKeyLocked(key appUser, now time.Time) *sessionKey {
	k := s.sessionKeys[key]
	if k == nil || !now.Before(k.used.Add(s.policyLocked(key.appID).TTL)) {
		return nil
	}
	return k
}

// useKeyLocked is the user's session_key as a use at now leaves it: the
// current key, used again, or a new one if there is none or it lapsed;
// with onCode (a wx.login code is being issued) the key is also replaced
// when the app's policy says so (reference §3.1, §3.9). s.mu must be held.
func (s *Sandbox) useKeyLocked(key appUser, now time.Time, onCode bool) (string, error) {
	k := s.currentKeyLocked(key, now)
	p := s.policyLocked(key.appID)
	if k == nil || onCode && *p.RotateOnCode && !now.Before(k.made.Add(p.MinRotation)) {
		return s.newSessionKeyLocked(key, now)
	}
	k.used = now
	return k.key, nil
}

// newSessionKeyLocked gives key a fresh session_key, base64 of 16 random
// bytes (reference §3.2), made and used at now, retiring the old one: a
// user has one valid session_key at a time (§3.1). s.mu must be held.
func (s *Sandbox) newSessionKeyLocked(key appUser, now time.Time) (string, error) {
	b := make([]byte, 16)
	if err := s.readRand(b); err != nil {
		return "", err
	}
	k := base64.StdEncoding.EncodeToString(b)
	s.sessionKeys[key] = &sessionKey{key: k, made: now, used: now}
	return k, nil
}

// RotateSessionKey replaces user's session_key in the Mini Program appID
// now, whatever the app's [SessionKeyPolicy], as WeChat does after another
// wx.login (reference §3.1, §3.9): encrypted data made from now on uses
// the new key, and checksession answers 87009 for the old one. A user
// never issued a wx.login code in the app has no key to replace
// ([ErrNotFound]), nor do unknown apps and users.
func (s *Sandbox) RotateSessionKey(appID, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.miniProgramUserLocked(appID, user); err != nil {
		return err
	}
	key := appUser{appID, user}
	if s.sessionKeys[key] == nil {
		return fmt.Errorf("user %q has no session_key in app %q (no wx.login code yet): %w", user, appID, ErrNotFound)
	}
	if _, err := s.newSessionKeyLocked(key, s.now()); err != nil {
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
// session_key; a user who never logged in has none, and a lapsed key is
// no longer current). s.mu must be held.
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
	current := s.currentKeyLocked(key, s.now())
	if current == nil || !hmac.Equal([]byte(q.Get("signature")), []byte(sessionSignature(current.key))) {
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
// 87009 (likely but unverified, §8). The new key keeps the old key's
// expiry: a reset is not a use. WeChat's limits on repeated resets are not
// imitated.
func (s *Sandbox) resetUserSessionKey(r *http.Request) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, code := s.checkSessionRequestLocked(r)
	if code != 0 {
		return code
	}
	used := s.sessionKeys[key].used
	k, err := s.newSessionKeyLocked(key, s.now())
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox session key", "err", err)
		return errcode(-1)
	}
	s.sessionKeys[key].used = used
	return resetAnswer{Errmsg: "ok", OpenID: openID(key.appID, key.user), SessionKey: k}
}

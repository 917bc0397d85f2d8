package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Mini Program login limits (reference §3.2).
const (
	// loginRateLimit is how many jscode2session calls one user may make per
	// rateWindow before WeChat answers 45011.
	loginRateLimit = 100
	rateWindow     = time.Minute
	// codeLen is the length of observed wx.login codes (reference §3.1).
	codeLen = 32
)

// loginCode is what wx.login() gave one user of one app (reference §3.1).
type loginCode struct {
	appID, user string
	expires     time.Time
	used        bool
}

// IssueCode returns the code wx.login() would give user in the Mini Program
// appID: 32 printable characters, single use, valid for the configured
// CodeTTL (reference §3.1). Issuing it replaces the user's session_key as
// the app's [SessionKeyPolicy] says, whether or not the code is ever
// exchanged (§3.9). Unknown apps and users fail with [ErrNotFound].
func (s *Sandbox) IssueCode(appID, user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.miniProgramUserLocked(appID, user); err != nil {
		return "", err
	}
	now := s.now()
	s.sweepCodesLocked(now)
	code, err := s.randomCodeLocked()
	if err != nil {
		return "", fmt.Errorf("issue code: %w", err)
	}
	if _, err := s.useKeyLocked(appUser{appID, user}, now, true); err != nil {
		return "", fmt.Errorf("issue code: %w", err)
	}
	s.codes[code] = &loginCode{appID: appID, user: user, expires: now.Add(s.codeTTL)}
	return code, nil
}

// SessionKey returns user's current session_key in the Mini Program appID,
// or "" if they have none: no code was issued to them there yet, or their
// key lapsed (see [SessionKeyPolicy]).
func (s *Sandbox) SessionKey(appID, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.currentKeyLocked(appUser{appID, user}, s.now()); k != nil {
		return k.key
	}
	return ""
}

// code2SessionAnswer is jscode2session's success body (reference §3.2),
// without errcode, as WeChat sometimes answers.
type code2SessionAnswer struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid,omitempty"`
}

// jscode2session imitates GET /sns/jscode2session (reference §3.2, §7): it
// exchanges a wx.login code for the user's openid, session_key and, for
// apps bound to the Open Platform, unionid. Checks run in WeChat's order
// (§7 item 2): missing parameters, appid, secret, code, rate limit. A phone
// code is not a wx.login code: it answers 40029 here (§7 item 3). The
// session_key answered is the user's current one, replaced when a code was
// issued, not here (§3.9).
func (s *Sandbox) jscode2session(r *http.Request) any {
	appID, secret, jsCode, bad := codeExchangeParams(r, "js_code")
	if bad != nil {
		return bad
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok || app.Kind != KindMiniProgram {
		return errcode(40013)
	}
	if bad := s.checkIPLocked(r, app); bad != nil {
		return bad
	}
	if !secretsEqual(secret, app.Secret) {
		return errcode(40125)
	}
	now := s.now()
	c, ok := s.codes[jsCode]
	if !ok || c.appID != appID || !now.Before(c.expires) {
		return errcode(40029)
	}
	if c.used {
		return errcode(40163)
	}
	key := appUser{appID, c.user}
	if !s.allowLocked(key, now) {
		return errcode(45011)
	}

	// The key was replaced, if at all, when the code was issued (§3.9):
	// the exchange answers the user's current key.
	sessionKey, err := s.useKeyLocked(key, now, false)
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox session key", "err", err)
		return errcode(-1)
	}
	c.used = true
	ans := code2SessionAnswer{OpenID: openID(appID, c.user), SessionKey: sessionKey}
	if !app.Unbound {
		ans.UnionID = unionID(c.user)
	}
	return ans
}

// allowLocked records a login call by key at now unless key already made
// loginRateLimit calls in the last rateWindow (reference §3.2: 100 per
// minute per user, counted per app here). s.mu must be held.
func (s *Sandbox) allowLocked(key appUser, now time.Time) bool {
	calls := s.rate[key]
	i := 0
	for i < len(calls) && !now.Before(calls[i].Add(rateWindow)) {
		i++
	}
	calls = calls[i:]
	if len(calls) >= loginRateLimit {
		s.rate[key] = calls
		return false
	}
	s.rate[key] = append(calls, now)
	return true
}

// secretsEqual compares in constant time, also hiding the secret's length.
func secretsEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// sweepCodesLocked forgets expired wx.login, phone and OAuth codes, at most once
// per code lifetime. Forgetting is invisible: an expired code answers 40029
// just like an unknown one. s.mu must be held.
func (s *Sandbox) sweepCodesLocked(now time.Time) {
	if now.Before(s.lastSweep.Add(s.codeTTL)) {
		return
	}
	s.lastSweep = now
	for k, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, k)
		}
	}
	for k, c := range s.phoneCodes {
		if !now.Before(c.expires) {
			delete(s.phoneCodes, k)
		}
	}
	for k, c := range s.oauth.codes {
		if !now.Before(c.expires) {
			delete(s.oauth.codes, k)
		}
	}
}

const codeAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomCodeLocked returns codeLen characters like the observed
// "0712cDoV0cfty22AeloV0daMoV02cDog", unbiased and never a live wx.login or
// OAuth code. It
// gives up if the random source keeps repeating itself. s.mu must be held.
func (s *Sandbox) randomCodeLocked() (string, error) {
	out := make([]byte, 0, codeLen)
	var buf [codeLen]byte
	for range 16 {
		if err := s.readRand(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting the rest keeps every character equally likely.
			if b < 248 && len(out) < codeLen {
				out = append(out, codeAlphabet[int(b)%len(codeAlphabet)])
			}
		}
		if len(out) < codeLen {
			continue
		}
		_, login := s.codes[string(out)]
		_, oauth := s.oauth.codes[string(out)]
		if !login && !oauth {
			return string(out), nil
		}
		out = out[:0]
	}
	return "", errors.New("random source repeats itself")
}

// codeExchangeParams reads the query of a code exchange (jscode2session,
// sns/oauth2/access_token) and checks it in WeChat's order (reference §7
// item 2): appid (41002), secret (41004), the code (41008), then grant_type
// (40002). bad is the errcode answer, or nil.
func codeExchangeParams(r *http.Request, codeParam string) (appID, secret, code string, bad any) {
	q := r.URL.Query()
	appID, secret, code = q.Get("appid"), q.Get("secret"), q.Get(codeParam)
	switch {
	case appID == "":
		return "", "", "", errcode(41002)
	case secret == "":
		return "", "", "", errcode(41004)
	case code == "":
		return "", "", "", errcode(41008)
	case q.Get("grant_type") != "authorization_code":
		return "", "", "", errcode(40002)
	}
	return appID, secret, code, nil
}

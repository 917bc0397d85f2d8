package sandbox

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Limits of /cgi-bin/stable_token's forced mode (reference §2.2).
const (
	forcedRefreshDailyLimit = 20
	forcedRefreshSpacing    = 30 * time.Second
)

// appTokenBytes is how many random bytes make one token: 128 characters of
// base64url, opaque as WeChat's and well within the 512 characters WeChat
// tells callers to reserve (reference §2.1).
const appTokenBytes = 96

// forgetAppTokensAfter is how long the sandbox remembers a token after it
// stopped working, so that it keeps answering 42001 or 40001 for it rather
// than growing without bound; a forgotten token answers 40001.
const forgetAppTokensAfter = 24 * time.Hour

// chinaTime is the zone WeChat's daily quotas reset in (midnight, UTC+8).
var chinaTime = time.FixedZone("CST", 8*60*60)

// quotaDay names the quota day that t falls on.
func quotaDay(t time.Time) string { return t.In(chinaTime).Format(time.DateOnly) }

// appToken is one app access token the sandbox issued (reference §2).
type appToken struct {
	value   string
	seq     uint64 // issue order
	appID   string
	stable  bool // from /cgi-bin/stable_token
	issued  time.Time
	expires time.Time // from then on: 42001
	cutoff  time.Time // zero, or when it was superseded or invalidated: 40001 from then on
}

// stopsAt is when t stops working.
func (t *appToken) stopsAt() time.Time {
	if !t.cutoff.IsZero() && t.cutoff.Before(t.expires) {
		return t.cutoff
	}
	return t.expires
}

// dailyCount counts calls on one quota day.
type dailyCount struct {
	day string
	n   int
}

// on returns c counted afresh if day is a new day.
func (c dailyCount) on(day string) dailyCount {
	if c.day != day {
		return dailyCount{day: day}
	}
	return c
}

// appTokens is the sandbox's app token state, guarded by Sandbox.mu.
type appTokens struct {
	byValue   map[string]*appToken
	current   map[string]string     // appid → newest /cgi-bin/token token
	stable    map[string]string     // appid → current stable token
	quota     map[string]dailyCount // appid → /cgi-bin/token tokens issued today
	forced    map[string]dailyCount // appid → forced stable refreshes today
	lastForce map[string]time.Time  // appid → last forced stable refresh
	lastSweep time.Time
	issued    uint64 // tokens issued so far
}

func newAppTokens() appTokens {
	return appTokens{
		byValue:   make(map[string]*appToken),
		current:   make(map[string]string),
		stable:    make(map[string]string),
		quota:     make(map[string]dailyCount),
		forced:    make(map[string]dailyCount),
		lastForce: make(map[string]time.Time),
	}
}

// AppToken is an app access token as [Sandbox.AppTokens] shows it.
type AppToken struct {
	// Token is the access_token value.
	Token string
	// Stable says it came from /cgi-bin/stable_token; false means
	// /cgi-bin/token. The two kinds never affect each other (reference
	// §2.2).
	Stable bool
	// Current says it is the app's newest token of its kind. False means
	// it was superseded and works only until Expires.
	Current bool
	// Issued is when the sandbox issued it.
	Issued time.Time
	// Expires is when it stops working: its expiry, or the end of its
	// overlap once superseded.
	Expires time.Time
}

// AppTokens returns appID's app access tokens that work now, of both kinds,
// newest first. It returns none for an unknown app.
func (s *Sandbox) AppTokens(appID string) []AppToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var live []*appToken
	for _, t := range s.appTokens.byValue {
		if t.appID == appID && now.Before(t.stopsAt()) {
			live = append(live, t)
		}
	}
	slices.SortFunc(live, func(a, b *appToken) int { return cmp.Compare(b.seq, a.seq) })
	out := make([]AppToken, 0, len(live))
	for _, t := range live {
		cur := s.appTokens.current[appID]
		if t.stable {
			cur = s.appTokens.stable[appID]
		}
		out = append(out, AppToken{Token: t.value, Stable: t.stable, Current: t.value == cur, Issued: t.issued, Expires: t.stopsAt()})
	}
	return out
}

// InvalidateAppTokens makes every working app access token of appID, of
// both kinds, answer 40001 from now on, as when a leaked token was
// refreshed elsewhere (reference §2.1: any second caller silently kills
// the first caller's token). The next /cgi-bin/stable_token call issues a
// new token. Unknown apps fail with [ErrNotFound].
func (s *Sandbox) InvalidateAppTokens(appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[appID]; !ok {
		return fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	now := s.now()
	for _, t := range s.appTokens.byValue {
		if t.appID == appID && now.Before(t.stopsAt()) {
			t.cutoff = now
		}
	}
	delete(s.appTokens.current, appID)
	delete(s.appTokens.stable, appID)
	return nil
}

// tokenAnswer is the success body of both token endpoints (reference §2.1,
// §2.2).
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// token imitates GET /cgi-bin/token (reference §2.1): every success mints a
// new token, and the app's previous one keeps working for the configured
// overlap, then answers 40001. Checks run in WeChat's order (§7 item 2):
// missing parameters, grant_type, appid, secret, daily quota.
//
// A wrong secret answers 40001, not 40125: §2.1 lists 40001 as "wrong
// secret on this endpoint" (and §1.1 agrees); 40125 is left to
// stable_token.
func (s *Sandbox) token(r *http.Request) any {
	q := r.URL.Query()
	appID, secret := q.Get("appid"), q.Get("secret")
	switch {
	case appID == "":
		return errcode(41002)
	case secret == "":
		return errcode(41004)
	case q.Get("grant_type") != "client_credential":
		return errcode(40002)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok {
		return errcode(40013)
	}
	if bad := s.checkIPLocked(r, app); bad != nil {
		return bad
	}
	if !secretsEqual(secret, app.Secret) {
		return errcode(40001)
	}
	now := s.now()
	quota := s.appTokens.quota[appID].on(quotaDay(now))
	if quota.n >= s.tokenQuota {
		return errcode(45009)
	}
	t, err := s.issueAppTokenLocked(appID, false, now)
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox app token", "err", err)
		return errcode(-1)
	}
	if prev := s.appTokens.byValue[s.appTokens.current[appID]]; prev != nil && prev.cutoff.IsZero() {
		prev.cutoff = now.Add(s.tokenOverlap)
	}
	s.appTokens.current[appID] = t.value
	quota.n++
	s.appTokens.quota[appID] = quota
	return tokenAnswer{AccessToken: t.value, ExpiresIn: int(s.tokenTTL / time.Second)}
}

// stableToken imitates POST /cgi-bin/stable_token (reference §2.2). Only
// the JSON body counts: a call with query parameters and no body answers
// 41002, one with a form body 47001 (§1). In normal mode every call answers
// the app's current stable token with its remaining lifetime, handing over
// to a new token AppTokenOverlap before expiry, so expires_in is never below
// the overlap (300 s by default); the old token works until it expires.
//
// force_refresh invalidates the current token at once and issues a new one,
// at most 20 times per day (the 21st answers 45009) and at least 30 s
// apart: a forced call sooner than that behaves as a normal one ("no
// refresh happens"), and does not count towards the 20. Stable tokens and
// /cgi-bin/token tokens never affect each other.
//
// A wrong secret answers 40125 (§1.1 lists stable_token under 40125 only).
// WeChat's 500 000/day and 10 000/minute quotas are not imitated; inject
// faults for them.
func (s *Sandbox) stableToken(r *http.Request) any {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if code := readWeChatJSON(r, &req); code != 0 {
		return code
	}
	switch {
	case req.AppID == "":
		return errcode(41002)
	case req.Secret == "":
		return errcode(41004)
	case req.GrantType != "client_credential":
		return errcode(40002)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[req.AppID]
	if !ok {
		return errcode(40013)
	}
	if bad := s.checkIPLocked(r, app); bad != nil {
		return bad
	}
	if !secretsEqual(req.Secret, app.Secret) {
		return errcode(40125)
	}
	now := s.now()
	cur := s.appTokens.byValue[s.appTokens.stable[app.AppID]]
	last, forcedBefore := s.appTokens.lastForce[app.AppID]
	if req.ForceRefresh && (!forcedBefore || !now.Before(last.Add(forcedRefreshSpacing))) {
		forced := s.appTokens.forced[app.AppID].on(quotaDay(now))
		if forced.n >= forcedRefreshDailyLimit {
			return errcode(45009)
		}
		forced.n++
		s.appTokens.forced[app.AppID] = forced
		s.appTokens.lastForce[app.AppID] = now
		if cur != nil && now.Before(cur.stopsAt()) {
			cur.cutoff = now
		}
		cur = nil
	}
	if cur == nil || !now.Before(cur.stopsAt()) || !now.Before(cur.expires.Add(-s.tokenOverlap)) {
		t, err := s.issueAppTokenLocked(app.AppID, true, now)
		if err != nil {
			s.log.ErrorContext(r.Context(), "sandbox stable app token", "err", err)
			return errcode(-1)
		}
		s.appTokens.stable[app.AppID] = t.value
		cur = t
	}
	return tokenAnswer{AccessToken: cur.value, ExpiresIn: int(cur.expires.Sub(now) / time.Second)}
}

// issueAppTokenLocked mints and records a token for appID that expires
// after the configured TTL. s.mu must be held.
func (s *Sandbox) issueAppTokenLocked(appID string, stable bool, now time.Time) (*appToken, error) {
	s.sweepAppTokensLocked(now)
	b := make([]byte, appTokenBytes)
	for range 16 {
		if err := s.readRand(b); err != nil {
			return nil, err
		}
		v := base64.RawURLEncoding.EncodeToString(b)
		if _, taken := s.appTokens.byValue[v]; taken {
			continue
		}
		s.appTokens.issued++
		t := &appToken{value: v, seq: s.appTokens.issued, appID: appID, stable: stable, issued: now, expires: now.Add(s.tokenTTL)}
		s.appTokens.byValue[v] = t
		return t, nil
	}
	return nil, errors.New("random source repeats itself")
}

// sweepAppTokensLocked forgets tokens that stopped working long ago, at
// most once an hour. s.mu must be held.
func (s *Sandbox) sweepAppTokensLocked(now time.Time) {
	if now.Before(s.appTokens.lastSweep.Add(time.Hour)) {
		return
	}
	s.appTokens.lastSweep = now
	for v, t := range s.appTokens.byValue {
		if !now.Before(t.stopsAt().Add(forgetAppTokensAfter)) {
			delete(s.appTokens.byValue, v)
		}
	}
}

// checkAppTokenLocked checks the access_token query parameter of a
// token-protected endpoint (reference §2.3, §7 item 7): missing → 41001;
// unknown, superseded past its overlap or invalidated → 40001; expired →
// 42001. On success it returns the token, whose appID says which app is
// calling. s.mu must be held.
func (s *Sandbox) checkAppTokenLocked(value string, now time.Time) (*appToken, errcode) {
	if value == "" {
		return nil, 41001
	}
	t := s.appTokens.byValue[value]
	switch {
	case t == nil:
		return nil, 40001
	case !t.cutoff.IsZero() && !now.Before(t.cutoff):
		return nil, 40001
	case !now.Before(t.expires):
		return nil, 42001
	}
	return t, 0
}

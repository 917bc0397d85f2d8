package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	tokenPath  = "/cgi-bin/token"
	stablePath = "/cgi-bin/stable_token"
)

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{128}$`)

// tokenQueryFor is a well-formed /cgi-bin/token query (reference §2.1).
func tokenQueryFor(app App) url.Values {
	return url.Values{"grant_type": {"client_credential"}, "appid": {app.AppID}, "secret": {app.Secret}}
}

// tokenQuery carries an app access token (reference §2.3).
func tokenQuery(tok string) url.Values { return url.Values{"access_token": {tok}} }

// appToken fetches a new token from /cgi-bin/token.
func (e *env) appToken(t *testing.T, app App) string {
	t.Helper()
	a := e.get(t, tokenPath, tokenQueryFor(app))
	if a.code() != 0 || a.AccessToken == "" {
		t.Fatalf("GET %s for %s: errcode %d (%s)", tokenPath, app.Name, a.code(), a.Errmsg)
	}
	return a.AccessToken
}

// stable calls /cgi-bin/stable_token for app.
func (e *env) stable(t *testing.T, app App, force bool) answer {
	t.Helper()
	return e.post(t, stablePath, nil, fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q,"force_refresh":%t}`, app.AppID, app.Secret, force))
}

// useToken reports how a token-protected endpoint treats tok: 0 if it
// accepts it, else the token errcode. It calls checksession without
// sig_method, which answers 87008 once the token passed (reference §3.3).
func (e *env) useToken(t *testing.T, tok string) int {
	t.Helper()
	a := e.get(t, "/wxa/checksession", tokenQuery(tok))
	if a.code() == 87008 {
		return 0
	}
	return a.code()
}

// Reference §2.1: expires_in 7200, an opaque string, a new one each call.
func TestTokenSuccess(t *testing.T) {
	e := newEnv(t, nil)
	a := e.get(t, tokenPath, tokenQueryFor(appA))
	if a.status != 200 || a.contentType != "text/plain" {
		t.Errorf("status, Content-Type = %d, %q; want 200, text/plain", a.status, a.contentType)
	}
	var fields []string
	for k := range a.fields {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	if diff := cmp.Diff([]string{"access_token", "expires_in"}, fields); diff != "" {
		t.Errorf("answer fields (-want +got):\n%s", diff)
	}
	if !tokenPattern.MatchString(a.AccessToken) || a.ExpiresIn != 7200 {
		t.Errorf("GET %s = %q, %d; want 128 opaque characters, 7200", tokenPath, a.AccessToken, a.ExpiresIn)
	}
	second := e.appToken(t, appA)
	if second == a.AccessToken {
		t.Errorf("second call answered the same token, want a new one each call")
	}
	// Official Accounts get tokens too (reference §2.1).
	e.appToken(t, appOA)

	got := e.sb.AppTokens(appA.AppID)
	if len(got) != 2 || got[0].Token != second || !got[0].Current || got[1].Token != a.AccessToken || got[1].Current || got[0].Stable {
		t.Fatalf("AppTokens() = %+v, want the second (current) then the first", got)
	}
	now := e.clock.Now()
	if !got[0].Expires.Equal(now.Add(7200*time.Second)) || !got[1].Expires.Equal(now.Add(5*time.Minute)) {
		t.Errorf("AppTokens() expiries = %v, %v; want +7200 s and +5 min", got[0].Expires, got[1].Expires)
	}
	if got := e.sb.AppTokens("wxunknown"); len(got) != 0 {
		t.Errorf("AppTokens(unknown) = %v, want none", got)
	}
}

// Reference §2.1 errors in WeChat's order (§7 item 2): missing parameters,
// grant_type, appid, secret. A wrong secret is 40001 on this endpoint.
func TestTokenErrors(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name string
		q    map[string]string // overrides of a valid query for appA; "" deletes
		want int
	}{
		{"no parameters", map[string]string{"appid": "", "secret": "", "grant_type": ""}, 41002},
		{"no appid, wrong secret", map[string]string{"appid": "", "secret": "wrong"}, 41002},
		{"no secret", map[string]string{"secret": ""}, 41004},
		{"no secret, bad grant_type", map[string]string{"secret": "", "grant_type": "x"}, 41004},
		{"no grant_type", map[string]string{"grant_type": ""}, 40002},
		{"login grant_type", map[string]string{"grant_type": "authorization_code"}, 40002},
		{"bad grant_type, unknown appid", map[string]string{"grant_type": "x", "appid": "wxunknown"}, 40002},
		{"unknown appid", map[string]string{"appid": "wxunknown"}, 40013},
		{"unknown appid, wrong secret", map[string]string{"appid": "wxunknown", "secret": "wrong"}, 40013},
		{"wrong secret", map[string]string{"secret": "wrong"}, 40001},
		{"another app's secret", map[string]string{"secret": appB.Secret}, 40001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tokenQueryFor(appA)
			for k, v := range tt.q {
				if v == "" {
					q.Del(k)
				} else {
					q.Set(k, v)
				}
			}
			checkWeChatError(t, e.get(t, tokenPath, q), tt.want)
		})
	}
	if got := e.sb.AppTokens(appA.AppID); len(got) != 0 {
		t.Errorf("AppTokens() after rejected calls = %v, want none", got)
	}
}

// Reference §2.1, §7 item 7: the previous token works for the overlap after
// a new one is issued, then answers 40001; every token answers 42001 once
// expired.
func TestTokenOverlapAndExpiry(t *testing.T) {
	tests := []struct {
		name         string
		ttl, overlap time.Duration // Config
		advance      time.Duration // after the second token
		old, cur     int           // useToken for the first and second token
	}{
		{"default, right after", 0, 0, 0, 0, 0},
		{"default, overlap almost over", 0, 0, 5*time.Minute - time.Second, 0, 0},
		{"default, overlap over", 0, 0, 5 * time.Minute, 40001, 0},
		{"default, almost expired", 0, 0, 7200*time.Second - time.Second, 40001, 0},
		{"default, expired", 0, 0, 7200 * time.Second, 40001, 42001},
		{"short overlap, inside", 0, time.Minute, 59 * time.Second, 0, 0},
		{"short overlap, over", 0, time.Minute, time.Minute, 40001, 0},
		{"short ttl, expired", 10 * time.Minute, time.Minute, 10 * time.Minute, 40001, 42001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.AppTokenTTL, c.AppTokenOverlap = tt.ttl, tt.overlap })
			first := e.appToken(t, appA)
			e.clock.Advance(time.Second)
			second := e.appToken(t, appA)
			e.clock.Advance(tt.advance)
			if got := e.useToken(t, first); got != tt.old {
				t.Errorf("first token after %v: %d, want %d", tt.advance, got, tt.old)
			}
			if got := e.useToken(t, second); got != tt.cur {
				t.Errorf("second token after %v: %d, want %d", tt.advance, got, tt.cur)
			}
		})
	}

	// A short TTL is answered as expires_in.
	e := newEnv(t, func(c *Config) { c.AppTokenTTL, c.AppTokenOverlap = 10*time.Minute, time.Minute })
	if a := e.get(t, tokenPath, tokenQueryFor(appA)); a.ExpiresIn != 600 {
		t.Errorf("expires_in = %d with AppTokenTTL 10m, want 600", a.ExpiresIn)
	}

	// An expired token that was never superseded answers 42001 (§1.1).
	e = newEnv(t, nil)
	tok := e.appToken(t, appA)
	e.clock.Advance(7200 * time.Second)
	if got := e.useToken(t, tok); got != 42001 {
		t.Errorf("expired token: %d, want 42001", got)
	}
}

// Reference §2.1: a third fetch does not extend the first token's overlap.
func TestTokenOverlapNotExtended(t *testing.T) {
	e := newEnv(t, nil)
	first := e.appToken(t, appA)
	e.appToken(t, appA)
	e.clock.Advance(4 * time.Minute)
	third := e.appToken(t, appA)
	e.clock.Advance(time.Minute)
	if got := e.useToken(t, first); got != 40001 {
		t.Errorf("first token 5 min after the second fetch: %d, want 40001", got)
	}
	if got := e.useToken(t, third); got != 0 {
		t.Errorf("third token: %d, want it accepted", got)
	}
}

// Reference §2.1: 2000 calls per day, then 45009; §7 item 2: the quota is
// checked after the secret.
func TestTokenDailyQuota(t *testing.T) {
	tests := []struct {
		name  string
		quota int
		calls int
	}{
		{"default", 0, 2000},
		{"configured", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.AppTokenDailyQuota = tt.quota })
			e.get(t, tokenPath, url.Values{"grant_type": {"client_credential"}, "appid": {appA.AppID}, "secret": {"wrong"}})
			for i := range tt.calls {
				if a := e.get(t, tokenPath, tokenQueryFor(appA)); a.code() != 0 {
					t.Fatalf("call %d: errcode %d, want success", i+1, a.code())
				}
			}
			last := e.sb.AppTokens(appA.AppID)[0].Token
			checkWeChatError(t, e.get(t, tokenPath, tokenQueryFor(appA)), 45009)
			if got := e.useToken(t, last); got != 0 {
				t.Errorf("last token after 45009: %d, want it still accepted", got)
			}
			wrong := tokenQueryFor(appA)
			wrong.Set("secret", "wrong")
			checkWeChatError(t, e.get(t, tokenPath, wrong), 40001)
			e.appToken(t, appB) // quotas are per app
			if a := e.stable(t, appA, false); a.code() != 0 {
				t.Errorf("stable_token while /cgi-bin/token is over quota: errcode %d, want success", a.code())
			}

			// The clock starts at 20:00 China time; the quota resets at
			// midnight there.
			e.clock.Advance(4*time.Hour - time.Second)
			checkWeChatError(t, e.get(t, tokenPath, tokenQueryFor(appA)), 45009)
			e.clock.Advance(time.Second)
			e.appToken(t, appA)
		})
	}
}

// Reference §2.2 normal mode: the same token with its remaining lifetime,
// handed over 5 minutes before expiry, so expires_in ≥ 300; the old token
// works until it expires.
func TestStableToken(t *testing.T) {
	e := newEnv(t, nil)
	first := e.stable(t, appA, false)
	if first.code() != 0 || !tokenPattern.MatchString(first.AccessToken) || first.ExpiresIn != 7200 {
		t.Fatalf("stable_token = %d %q %d, want a token for 7200 s", first.code(), first.AccessToken, first.ExpiresIn)
	}
	if first.contentType != "text/plain" || len(first.fields) != 2 {
		t.Errorf("stable_token answer %v (%s), want access_token and expires_in as text/plain", first.fields, first.contentType)
	}
	steps := []struct {
		advance time.Duration // since the previous step
		same    bool          // whether the first token is answered
		expires int
	}{
		{0, true, 7200},
		{100 * time.Second, true, 7100},
		{6799 * time.Second, true, 301}, // 301 s left
		{time.Second, false, 7200},      // 300 s left: handed over
		{299 * time.Second, false, 6901},
	}
	for i, st := range steps {
		e.clock.Advance(st.advance)
		a := e.stable(t, appA, false)
		if a.code() != 0 {
			t.Fatalf("step %d: errcode %d", i, a.code())
		}
		if (a.AccessToken == first.AccessToken) != st.same || a.ExpiresIn != st.expires {
			t.Errorf("step %d: same token %v, expires_in %d; want %v, %d", i, a.AccessToken == first.AccessToken, a.ExpiresIn, st.same, st.expires)
		}
		if a.ExpiresIn < 300 {
			t.Errorf("step %d: expires_in %d, want ≥ 300", i, a.ExpiresIn)
		}
	}
	// During the hand-over both work; then the old one has expired.
	if got := e.useToken(t, first.AccessToken); got != 0 {
		t.Errorf("old stable token during the hand-over: %d, want accepted", got)
	}
	e.clock.Advance(time.Second)
	if got := e.useToken(t, first.AccessToken); got != 42001 {
		t.Errorf("old stable token after its expiry: %d, want 42001", got)
	}
}

// Reference §2.2: stable tokens and /cgi-bin/token tokens never invalidate
// each other.
func TestStableTokenIsolated(t *testing.T) {
	e := newEnv(t, nil)
	stable := e.stable(t, appA, false).AccessToken
	normal := e.appToken(t, appA)
	e.clock.Advance(10 * time.Minute)
	e.appToken(t, appA)
	e.appToken(t, appA)
	if got := e.stable(t, appA, false).AccessToken; got != stable {
		t.Errorf("stable token changed after /cgi-bin/token calls")
	}
	if got := e.useToken(t, stable); got != 0 {
		t.Errorf("stable token after /cgi-bin/token calls: %d, want accepted", got)
	}
	newest := e.appToken(t, appA)
	e.stable(t, appA, true)
	if got := e.useToken(t, newest); got != 0 {
		t.Errorf("/cgi-bin/token token after a forced stable refresh: %d, want accepted", got)
	}
	e.clock.Advance(5 * time.Minute)
	if got := e.useToken(t, normal); got != 40001 {
		t.Errorf("superseded /cgi-bin/token token: %d, want 40001", got)
	}
	var kinds []bool
	for _, tok := range e.sb.AppTokens(appA.AppID) {
		if tok.Current {
			kinds = append(kinds, tok.Stable)
		}
	}
	if len(kinds) != 2 || kinds[0] == kinds[1] {
		t.Errorf("AppTokens() current tokens by kind = %v, want one of each", kinds)
	}
}

// Reference §2.2, §1: JSON body only; errors in WeChat's order; a wrong
// secret is 40125 here.
func TestStableTokenErrors(t *testing.T) {
	e := newEnv(t, nil)
	valid := map[string]any{"grant_type": "client_credential", "appid": appA.AppID, "secret": appA.Secret}
	body := func(over map[string]any) string {
		m := map[string]any{}
		for k, v := range valid {
			m[k] = v
		}
		for k, v := range over {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name string
		q    url.Values
		body string
		want int
	}{
		{"fields in the query", tokenQueryFor(appA), "", 41002},
		{"fields in the query, empty object", tokenQueryFor(appA), "{}", 41002},
		{"form body", nil, tokenQueryFor(appA).Encode(), 47001},
		{"not JSON", nil, "{", 47001},
		{"JSON array", nil, "[]", 47001},
		{"force_refresh as string", nil, body(map[string]any{"force_refresh": "true"}), 47001},
		{"no appid", nil, body(map[string]any{"appid": nil}), 41002},
		{"no secret", nil, body(map[string]any{"secret": nil}), 41004},
		{"no grant_type", nil, body(map[string]any{"grant_type": nil}), 40002},
		{"unknown appid", nil, body(map[string]any{"appid": "wxunknown"}), 40013},
		{"wrong secret", nil, body(map[string]any{"secret": "wrong"}), 40125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWeChatError(t, e.post(t, stablePath, tt.q, tt.body), tt.want)
		})
	}
	if a := e.post(t, stablePath, nil, body(map[string]any{"extra": 1})); a.code() != 0 {
		t.Errorf("unknown body field: errcode %d, want it ignored", a.code())
	}
}

// Reference §2.2 forced mode: invalidates and reissues, at most 20 times a
// day, ≥ 30 s apart; a forced call sooner returns the current token.
func TestStableTokenForceRefresh(t *testing.T) {
	e := newEnv(t, nil)
	t1 := e.stable(t, appA, false).AccessToken
	t2 := e.stable(t, appA, true)
	if t2.code() != 0 || t2.AccessToken == t1 || t2.ExpiresIn != 7200 {
		t.Fatalf("forced refresh = %d %q %d, want a new token for 7200 s", t2.code(), t2.AccessToken, t2.ExpiresIn)
	}
	if got := e.useToken(t, t1); got != 40001 {
		t.Errorf("token replaced by a forced refresh: %d, want 40001 at once", got)
	}

	e.clock.Advance(29 * time.Second)
	early := e.stable(t, appA, true)
	if early.code() != 0 || early.AccessToken != t2.AccessToken || early.ExpiresIn != 7200-29 {
		t.Errorf("forced refresh after 29 s = %d %q %d, want the current token with %d s", early.code(), early.AccessToken, early.ExpiresIn, 7200-29)
	}
	e.clock.Advance(time.Second)
	t3 := e.stable(t, appA, true)
	if t3.AccessToken == t2.AccessToken {
		t.Errorf("forced refresh after 30 s answered the same token, want a new one")
	}

	// Two forced refreshes so far; 18 more are allowed today. The early
	// call above did not count.
	for i := range 18 {
		e.clock.Advance(30 * time.Second)
		if a := e.stable(t, appA, true); a.code() != 0 {
			t.Fatalf("forced refresh %d: errcode %d, want success", i+3, a.code())
		}
	}
	e.clock.Advance(30 * time.Second)
	checkWeChatError(t, e.stable(t, appA, true), 45009)
	if a := e.stable(t, appA, false); a.code() != 0 {
		t.Errorf("normal mode over the forced limit: errcode %d, want success", a.code())
	}
	if a := e.stable(t, appB, true); a.code() != 0 {
		t.Errorf("another app's forced refresh: errcode %d, want success", a.code())
	}
	e.clock.Advance(4 * time.Hour) // past midnight China time
	if a := e.stable(t, appA, true); a.code() != 0 {
		t.Errorf("forced refresh the next day: errcode %d, want success", a.code())
	}
}

// Reference §2.2: concurrent normal-mode callers share one token.
func TestStableTokenConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	body := fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, appA.AppID, appA.Secret)
	const n = 50
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// No t.Fatal off the test goroutine: failures show as "".
			resp, err := http.Post(e.srv.URL+APIPrefix+stablePath, "application/json", strings.NewReader(body))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var a answer
			if json.NewDecoder(resp.Body).Decode(&a) == nil && a.code() == 0 {
				tokens[i] = a.AccessToken
			}
		})
	}
	wg.Wait()
	for i, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("caller %d got %q, caller 0 %q; want one shared token", i, tok, tokens[0])
		}
	}
	if got := e.sb.AppTokens(appA.AppID); len(got) != 1 || got[0].Token != tokens[0] || !got[0].Stable {
		t.Errorf("AppTokens() = %+v, want the one stable token", got)
	}
}

// Reference §2.1 (a second caller kills the first caller's token), §2.3:
// invalidated tokens answer 40001; stable_token then issues a new one.
func TestInvalidateAppTokens(t *testing.T) {
	e := newEnv(t, nil)
	normal := e.appToken(t, appA)
	stable := e.stable(t, appA, false).AccessToken
	other := e.appToken(t, appB)

	if status := e.control(t, http.MethodPost, "/apptoken/invalidate", map[string]string{"appid": appA.AppID}, nil); status != http.StatusNoContent {
		t.Fatalf("POST /apptoken/invalidate: status %d, want 204", status)
	}
	for name, tok := range map[string]string{"normal": normal, "stable": stable} {
		if got := e.useToken(t, tok); got != 40001 {
			t.Errorf("invalidated %s token: %d, want 40001", name, got)
		}
	}
	if got := e.useToken(t, other); got != 0 {
		t.Errorf("another app's token: %d, want accepted", got)
	}
	if got := e.sb.AppTokens(appA.AppID); len(got) != 0 {
		t.Errorf("AppTokens() after invalidation = %v, want none", got)
	}
	next := e.stable(t, appA, false)
	if next.AccessToken == stable || next.ExpiresIn != 7200 || e.useToken(t, next.AccessToken) != 0 {
		t.Errorf("stable_token after invalidation = %q %d, want a new working token", next.AccessToken, next.ExpiresIn)
	}
	if got := e.useToken(t, e.appToken(t, appA)); got != 0 {
		t.Errorf("new /cgi-bin/token token after invalidation: %d, want accepted", got)
	}

	if err := e.sb.InvalidateAppTokens("wxunknown"); err == nil {
		t.Errorf("InvalidateAppTokens(unknown) = nil, want an error")
	}
}

// Reference §2.3, §7 item 7: every token-protected endpoint checks the
// token first: missing 41001, unknown or superseded 40001, expired 42001.
func TestAppTokenChecks(t *testing.T) {
	e := newEnv(t, nil)
	superseded := e.appToken(t, appA)
	e.appToken(t, appA)
	e.clock.Advance(5 * time.Minute)
	expired := e.appToken(t, appA)
	e.clock.Advance(2 * time.Hour)
	e.appToken(t, appA)

	endpoints := []struct {
		name string
		call func(tok string) answer
	}{
		{"checksession", func(tok string) answer {
			return e.get(t, "/wxa/checksession", url.Values{"access_token": {tok}, "sig_method": {"x"}})
		}},
		{"resetusersessionkey", func(tok string) answer {
			return e.get(t, "/wxa/resetusersessionkey", url.Values{"access_token": {tok}, "sig_method": {"x"}})
		}},
		{"getuserphonenumber", func(tok string) answer {
			return e.post(t, phonePath, url.Values{"access_token": {tok}}, "not json")
		}},
	}
	tokens := []struct {
		name string
		tok  string
		want int
	}{
		{"missing", "", 41001},
		{"unknown", strings.Repeat("A", 128), 40001},
		{"superseded", superseded, 40001},
		{"expired", expired, 42001},
	}
	for _, ep := range endpoints {
		for _, tt := range tokens {
			t.Run(ep.name+"/"+tt.name, func(t *testing.T) {
				checkWeChatError(t, ep.call(tt.tok), tt.want)
			})
		}
	}
}

package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var idPattern = regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`)

func TestJSCode2SessionSuccessShape(t *testing.T) {
	e := newEnv(t, nil)
	a := e.login(t, appA, "alice")

	if a.status != 200 || a.contentType != "text/plain" {
		t.Errorf("status, Content-Type = %d, %q; want 200, text/plain", a.status, a.contentType)
	}
	var fields []string
	for k := range a.fields {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	if diff := cmp.Diff([]string{"openid", "session_key", "unionid"}, fields); diff != "" {
		t.Errorf("answer fields (-want +got):\n%s", diff)
	}
	if !idPattern.MatchString(a.OpenID) {
		t.Errorf("openid = %q, want 28 chars starting with o", a.OpenID)
	}
	if !idPattern.MatchString(a.UnionID) {
		t.Errorf("unionid = %q, want 28 chars starting with o", a.UnionID)
	}
	key, err := base64.StdEncoding.DecodeString(a.SessionKey)
	if len(a.SessionKey) != 24 || err != nil || len(key) != 16 {
		t.Errorf("session_key = %q (decodes to %d bytes, %v), want base64 of 16 bytes", a.SessionKey, len(key), err)
	}
	if got := e.sb.SessionKey(appA.AppID, "alice"); got != a.SessionKey {
		t.Errorf("SessionKey() = %q, want the answered %q", got, a.SessionKey)
	}
}

func TestJSCode2SessionIdentities(t *testing.T) {
	e := newEnv(t, nil)
	aliceA1 := e.login(t, appA, "alice")
	aliceA2 := e.login(t, appA, "alice")
	aliceB := e.login(t, appB, "alice")
	aliceU := e.login(t, appU, "alice")
	bobA := e.login(t, appA, "bob")

	if aliceA1.OpenID != aliceA2.OpenID {
		t.Errorf("openid changed between logins: %q, %q", aliceA1.OpenID, aliceA2.OpenID)
	}
	if aliceA1.OpenID == aliceB.OpenID {
		t.Errorf("openid %q is the same in two apps, want one per app", aliceA1.OpenID)
	}
	if aliceA1.OpenID == bobA.OpenID {
		t.Errorf("alice and bob share openid %q", bobA.OpenID)
	}
	if aliceA1.UnionID == "" || aliceA1.UnionID != aliceB.UnionID {
		t.Errorf("unionid in bound apps = %q, %q; want equal and not empty", aliceA1.UnionID, aliceB.UnionID)
	}
	if aliceA1.UnionID == bobA.UnionID {
		t.Errorf("alice and bob share unionid %q", bobA.UnionID)
	}
	if _, ok := aliceU.fields["unionid"]; ok {
		t.Errorf("unbound app answered unionid %s, want none", aliceU.fields["unionid"])
	}
	if !idPattern.MatchString(aliceU.OpenID) {
		t.Errorf("unbound app openid = %q", aliceU.OpenID)
	}

	// Users shows the identities jscode2session answers.
	for _, u := range e.sb.Users() {
		if u.Name != "alice" {
			continue
		}
		if u.UnionID != aliceA1.UnionID || u.OpenIDs[appA.AppID] != aliceA1.OpenID || u.OpenIDs[appU.AppID] != aliceU.OpenID {
			t.Errorf("Users() alice = %+v, want the answered ids", u)
		}
	}

	// A restarted sandbox finds alice again.
	again := newEnv(t, nil).login(t, appA, "alice")
	if again.OpenID != aliceA1.OpenID || again.UnionID != aliceA1.UnionID {
		t.Errorf("after restart openid, unionid = %q, %q; want %q, %q", again.OpenID, again.UnionID, aliceA1.OpenID, aliceA1.UnionID)
	}
}

func TestJSCode2SessionErrors(t *testing.T) {
	e := newEnv(t, nil)
	code := e.code(t, appA, "alice")
	otherAppCode := e.code(t, appB, "alice")

	tests := []struct {
		name string
		q    map[string]string // overrides of a valid query for appA; "" deletes
		want int
	}{
		{"no parameters", map[string]string{"appid": "", "secret": "", "js_code": "", "grant_type": ""}, 41002},
		{"no appid, bad secret", map[string]string{"appid": "", "secret": "wrong"}, 41002},
		{"no secret, no code", map[string]string{"secret": "", "js_code": ""}, 41004},
		{"no secret, unknown appid", map[string]string{"secret": "", "appid": "wxunknown"}, 41004},
		{"no code, wrong secret", map[string]string{"js_code": "", "secret": "wrong"}, 41008},
		{"no grant_type", map[string]string{"grant_type": ""}, 40002},
		{"other grant_type", map[string]string{"grant_type": "client_credential"}, 40002},
		{"bad grant_type, unknown appid", map[string]string{"grant_type": "x", "appid": "wxunknown"}, 40002},
		{"unknown appid", map[string]string{"appid": "wxunknown"}, 40013},
		{"unknown appid, wrong secret", map[string]string{"appid": "wxunknown", "secret": "wrong"}, 40013},
		{"official account appid", map[string]string{"appid": appOA.AppID, "secret": appOA.Secret}, 40013},
		{"wrong secret", map[string]string{"secret": "wrong"}, 40125},
		{"another app's secret", map[string]string{"secret": appB.Secret}, 40125},
		{"wrong secret, unknown code", map[string]string{"secret": "wrong", "js_code": "nope"}, 40125},
		{"unknown code", map[string]string{"js_code": "0712cDoV0cfty22AeloV0daMoV02cDog"}, 40029},
		{"another app's code", map[string]string{"js_code": otherAppCode}, 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := loginQuery(appA, code)
			for k, v := range tt.q {
				if v == "" {
					q.Del(k)
				} else {
					q.Set(k, v)
				}
			}
			checkWeChatError(t, e.get(t, "/sns/jscode2session", q), tt.want)
		})
	}

	// None of the rejected calls consumed either code.
	if a := e.get(t, "/sns/jscode2session", loginQuery(appA, code)); a.code() != 0 {
		t.Errorf("code after rejected calls: errcode %d, want success", a.code())
	}
	if a := e.get(t, "/sns/jscode2session", loginQuery(appB, otherAppCode)); a.code() != 0 {
		t.Errorf("appB code after use at appA: errcode %d, want success", a.code())
	}
}

func TestJSCode2SessionCodeUsedTwice(t *testing.T) {
	e := newEnv(t, nil)
	q := loginQuery(appA, e.code(t, appA, "alice"))
	if a := e.get(t, "/sns/jscode2session", q); a.code() != 0 {
		t.Fatalf("first exchange: errcode %d", a.code())
	}
	checkWeChatError(t, e.get(t, "/sns/jscode2session", q), 40163)
	checkWeChatError(t, e.get(t, "/sns/jscode2session", q), 40163)
}

func TestJSCode2SessionExpiry(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration // Config.CodeTTL
		advance time.Duration
		want    int
	}{
		{"default ttl, just before", 0, 5*time.Minute - time.Second, 0},
		{"default ttl, at expiry", 0, 5 * time.Minute, 40029},
		{"default ttl, long after", 0, time.Hour, 40029},
		{"short ttl, before", 10 * time.Second, 9 * time.Second, 0},
		{"short ttl, after", 10 * time.Second, 11 * time.Second, 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.CodeTTL = tt.ttl })
			code := e.code(t, appA, "alice")
			e.clock.Advance(tt.advance)
			a := e.get(t, "/sns/jscode2session", loginQuery(appA, code))
			if tt.want == 0 {
				if a.code() != 0 || a.OpenID == "" {
					t.Errorf("exchange after %v: errcode %d, want success", tt.advance, a.code())
				}
				return
			}
			checkWeChatError(t, a, tt.want)
		})
	}
}

func TestJSCode2SessionUsedThenExpired(t *testing.T) {
	e := newEnv(t, nil)
	q := loginQuery(appA, e.code(t, appA, "alice"))
	e.get(t, "/sns/jscode2session", q)
	e.clock.Advance(6 * time.Minute)
	e.code(t, appA, "bob") // lets the sandbox forget expired codes
	checkWeChatError(t, e.get(t, "/sns/jscode2session", q), 40029)
}

// Reference §3.1, §3.9: issuing a code replaces the key, exchanging one
// does not; each user of each app has a key of their own.
func TestSessionKeyRotation(t *testing.T) {
	on, off := true, false
	tests := []struct {
		name   string
		rotate *bool // SessionKeyPolicy.RotateOnCode
		want   bool  // whether a code issued changes the key
	}{
		{"default rotates", nil, true},
		{"on", &on, true},
		{"off", &off, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.SessionKey.RotateOnCode = tt.rotate })
			if got := e.sb.SessionKey(appA.AppID, "alice"); got != "" {
				t.Errorf("SessionKey before any code = %q, want empty", got)
			}
			first := e.login(t, appA, "alice").SessionKey
			bobKey := e.login(t, appA, "bob").SessionKey
			otherApp := e.login(t, appB, "alice").SessionKey
			if bobKey == first || otherApp == first {
				t.Errorf("keys are shared across users or apps: %q, %q, %q", first, bobKey, otherApp)
			}

			// wx.login again, the code never sent to the backend.
			e.code(t, appA, "alice")
			afterIssue := e.sb.SessionKey(appA.AppID, "alice")
			if changed := afterIssue != first; changed != tt.want {
				t.Errorf("a code issued: key %q → %q, changed = %v, want %v", first, afterIssue, changed, tt.want)
			}
			// Two codes issued, the first exchanged: it answers the current
			// key, the one of the later code; the exchange replaces nothing.
			older := e.code(t, appA, "alice")
			e.code(t, appA, "alice")
			current := e.sb.SessionKey(appA.AppID, "alice")
			if got := e.get(t, "/sns/jscode2session", loginQuery(appA, older)).SessionKey; got != current {
				t.Errorf("exchange of an older code answered %q, want the current key %q", got, current)
			}
			if got := e.sb.SessionKey(appA.AppID, "alice"); got != current {
				t.Errorf("the exchange changed the key %q → %q", current, got)
			}
			if got := e.sb.SessionKey(appA.AppID, "bob"); got != bobKey {
				t.Errorf("alice's codes changed bob's key %q → %q", bobKey, got)
			}
		})
	}
}

// The wx.login doc: the refresh has a minimum period; a code issued
// sooner keeps the key.
func TestSessionKeyMinRotation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SessionKey.MinRotation = 10 * time.Minute })
	first := e.login(t, appA, "alice").SessionKey
	e.clock.Advance(9 * time.Minute)
	if got := e.login(t, appA, "alice").SessionKey; got != first {
		t.Errorf("code 9 minutes after the key was made: key %q → %q, want kept", first, got)
	}
	e.clock.Advance(time.Minute)
	e.code(t, appA, "alice")
	second := e.sb.SessionKey(appA.AppID, "alice")
	if second == first {
		t.Errorf("code 10 minutes after the key was made kept it, want a new key")
	}
	// The period counts from the new key, and a forced rotation resets it.
	e.clock.Advance(5 * time.Minute)
	if e.code(t, appA, "alice"); e.sb.SessionKey(appA.AppID, "alice") != second {
		t.Errorf("code 5 minutes after a rotation changed the key")
	}
	if err := e.sb.RotateSessionKey(appA.AppID, "alice"); err != nil {
		t.Fatal(err)
	}
	if e.sb.SessionKey(appA.AppID, "alice") == second {
		t.Errorf("RotateSessionKey inside the minimum period kept the key, want it replaced")
	}
}

// Reference §3.9: a key lapses after a period without use; checksession
// then answers 87009 and the user's next code or data comes with a new key.
func TestSessionKeyTTL(t *testing.T) {
	off := false
	e := newEnv(t, func(c *Config) {
		c.SessionKey = SessionKeyPolicy{RotateOnCode: &off, TTL: time.Hour}
	})
	tok := e.appToken(t, appA)
	aliceA := openID(appA.AppID, "alice")
	key := e.login(t, appA, "alice").SessionKey
	check := func(k string) int {
		return e.get(t, "/wxa/checksession", sessionQuery(tok, aliceA, sessionSignature(k))).code()
	}

	// Used 59 minutes later (encrypted data): it lasts another hour.
	e.clock.Advance(59 * time.Minute)
	e.encrypted(t, appA, "alice", EncryptedUserInfo)
	e.clock.Advance(59 * time.Minute)
	if got := check(key); got != 0 {
		t.Fatalf("checksession 59 minutes after the last use: errcode %d, want 0", got)
	}
	// checksession is not a use: an hour after the last use, it lapsed.
	e.clock.Advance(time.Minute)
	checkWeChatError(t, e.get(t, "/wxa/checksession", sessionQuery(tok, aliceA, sessionSignature(key))), 87009)
	checkWeChatError(t, e.get(t, "/wxa/resetusersessionkey", sessionQuery(tok, aliceA, sessionSignature(key))), 87009)
	if got := e.sb.SessionKey(appA.AppID, "alice"); got != "" {
		t.Errorf("SessionKey after it lapsed = %q, want empty", got)
	}
	// Data the front end gets now comes with a new key, though codes do not
	// rotate here; the backend's key cannot open it.
	d := e.encrypted(t, appA, "alice", EncryptedPhone)
	fresh := e.sb.SessionKey(appA.AppID, "alice")
	if fresh == "" || fresh == key {
		t.Fatalf("key after the lapse = %q (was %q), want a new one", fresh, key)
	}
	// A wrong key passes the padding check by chance (about 1 in 256):
	// what it must never give is the data.
	if plain, err := decryptCBC(key, d.IV, d.EncryptedData); err == nil && json.Valid(plain) {
		t.Errorf("data made after the lapse opens with the lapsed key")
	}
	if got := e.login(t, appA, "alice").SessionKey; got != fresh {
		t.Errorf("login after the lapse answered %q, want the new key %q", got, fresh)
	}

	// A code issued after a lapse brings a new key too.
	e.clock.Advance(2 * time.Hour)
	e.code(t, appA, "alice")
	if got := e.sb.SessionKey(appA.AppID, "alice"); got == "" || got == fresh {
		t.Errorf("code issued after a lapse: key %q (was %q), want a new one", got, fresh)
	}
}

// Reference §3.4: the reset key keeps the old key's expiry.
func TestResetKeepsExpiry(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SessionKey.TTL = time.Hour })
	tok := e.appToken(t, appA)
	aliceA := openID(appA.AppID, "alice")
	old := e.login(t, appA, "alice").SessionKey
	e.clock.Advance(30 * time.Minute)
	a := e.get(t, "/wxa/resetusersessionkey", sessionQuery(tok, aliceA, sessionSignature(old)))
	if a.code() != 0 || a.SessionKey == "" {
		t.Fatalf("resetusersessionkey: errcode %d", a.code())
	}
	e.clock.Advance(30 * time.Minute)
	checkWeChatError(t, e.get(t, "/wxa/checksession", sessionQuery(tok, aliceA, sessionSignature(a.SessionKey))), 87009)
}

func TestJSCode2SessionRateLimit(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 100 {
		if a := e.login(t, appA, "alice"); a.code() != 0 {
			t.Fatalf("login %d: errcode %d, want success", i+1, a.code())
		}
	}
	q := loginQuery(appA, e.code(t, appA, "alice"))
	checkWeChatError(t, e.get(t, "/sns/jscode2session", q), 45011)
	if a := e.login(t, appA, "bob"); a.code() != 0 {
		t.Errorf("bob while alice is limited: errcode %d, want success", a.code())
	}
	if a := e.login(t, appB, "alice"); a.code() != 0 {
		t.Errorf("alice in another app: errcode %d, want success", a.code())
	}

	// A minute later the same code still works: 45011 did not consume it.
	e.clock.Advance(time.Minute)
	if a := e.get(t, "/sns/jscode2session", q); a.code() != 0 {
		t.Errorf("after a minute: errcode %d, want success", a.code())
	}
}

func TestJSCode2SessionConcurrentExchange(t *testing.T) {
	e := newEnv(t, nil)
	q := loginQuery(appA, e.code(t, appA, "alice"))
	const n = 50
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// No t.Fatal off the test goroutine: failures show as errcode -2.
			codes[i] = -2
			resp, err := http.Get(e.srv.URL + APIPrefix + "/sns/jscode2session?" + q.Encode())
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var a answer
			if json.NewDecoder(resp.Body).Decode(&a) == nil {
				codes[i] = a.code()
			}
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if diff := cmp.Diff(map[int]int{0: 1, 40163: n - 1}, count); diff != "" {
		t.Errorf("errcodes of %d concurrent exchanges (-want +got):\n%s", n, diff)
	}
}

func TestIssueCode(t *testing.T) {
	e := newEnv(t, nil)
	seen := map[string]bool{}
	for range 20 {
		code := e.code(t, appA, "alice")
		if len(code) != 32 || strings.IndexFunc(code, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			t.Errorf("IssueCode() = %q, want 32 printable chars", code)
		}
		if seen[code] {
			t.Errorf("IssueCode() repeated %q", code)
		}
		seen[code] = true
	}
	for _, tt := range []struct{ appID, user string }{
		{"wxunknown", "alice"},
		{appA.AppID, "mallory"},
		{appOA.AppID, "alice"},
	} {
		if code, err := e.sb.IssueCode(tt.appID, tt.user); err == nil {
			t.Errorf("IssueCode(%q, %q) = %q, want an error", tt.appID, tt.user, code)
		}
	}
}

func TestIssueCodeRepeatingRand(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Rand = zeros{} })
	if _, err := e.sb.IssueCode(appA.AppID, "alice"); err != nil {
		t.Fatalf("first IssueCode: %v", err)
	}
	if code, err := e.sb.IssueCode(appA.AppID, "alice"); err == nil {
		t.Errorf("IssueCode with a constant source = %q twice, want an error", code)
	}
}

// zeros is a random source that always reads zeros.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

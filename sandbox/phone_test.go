package sandbox

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const phonePath = "/wxa/business/getuserphonenumber"

var phoneCodePattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (e *env) phoneCode(t *testing.T, app App, user, phone string) string {
	t.Helper()
	code, err := e.sb.IssuePhoneCode(app.AppID, user, phone)
	if err != nil {
		t.Fatalf("IssuePhoneCode(%q, %q, %q): %v", app.AppID, user, phone, err)
	}
	return code
}

func phoneBody(code string) string { return fmt.Sprintf(`{"code":%q}`, code) }

// Reference §3.5: the success shape, countryCode a string, the watermark.
func TestGetUserPhoneNumber(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appA)
	tests := []struct {
		name, user, phone string // phone: IssuePhoneCode's override
		openid            bool   // send the user's openid
		number, pure, cc  string
	}{
		{"alice", "alice", "", false, "13800000001", "13800000001", "86"},
		{"bob with openid", "bob", "", true, "13800000002", "13800000002", "86"},
		{"override", "alice", "+8613912345678", false, "13912345678", "13912345678", "86"},
		{"US number", "alice", "+12025550123", false, "+12025550123", "2025550123", "1"},
		{"Hong Kong number", "bob", "+85291234567", false, "+85291234567", "91234567", "852"},
		{"UK number", "bob", "+447700900123", true, "+447700900123", "7700900123", "44"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issued := e.clock.Now()
			code := e.phoneCode(t, appA, tt.user, tt.phone)
			if !phoneCodePattern.MatchString(code) {
				t.Errorf("IssuePhoneCode() = %q, want 64 hex characters", code)
			}
			e.clock.Advance(time.Minute)
			body := phoneBody(code)
			if tt.openid {
				body = fmt.Sprintf(`{"code":%q,"openid":%q}`, code, openID(appA.AppID, tt.user))
			}
			a := e.post(t, phonePath, tokenQuery(tok), body)
			if a.code() != 0 || a.Errmsg != "ok" || a.PhoneInfo == nil {
				t.Fatalf("getuserphonenumber: errcode %d %q, phone_info %v", a.code(), a.Errmsg, a.PhoneInfo)
			}
			if string(a.fields["errcode"]) != "0" {
				t.Errorf("errcode = %s, want 0 present (reference §3.5 example)", a.fields["errcode"])
			}
			p := a.PhoneInfo
			if p.PhoneNumber != tt.number || p.PurePhoneNumber != tt.pure || p.CountryCode != tt.cc {
				t.Errorf("phone_info = %q, %q, %q; want %q, %q, %q", p.PhoneNumber, p.PurePhoneNumber, p.CountryCode, tt.number, tt.pure, tt.cc)
			}
			if p.Watermark.AppID != appA.AppID || p.Watermark.Timestamp != issued.Unix() {
				t.Errorf("watermark = %+v, want %s at %d", p.Watermark, appA.AppID, issued.Unix())
			}
			if !strings.Contains(string(a.fields["phone_info"]), `"countryCode":"`+tt.cc+`"`) {
				t.Errorf("phone_info = %s, want countryCode as a JSON string", a.fields["phone_info"])
			}
		})
	}
}

// Reference §3.5, §7 item 3: token, body, then code checks; phone codes are
// single use, bound to their app and user, and not wx.login codes.
func TestGetUserPhoneNumberErrors(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appA)
	code := e.phoneCode(t, appA, "alice", "")
	otherApp := e.phoneCode(t, appB, "alice", "")
	loginCode := e.code(t, appA, "alice")

	tests := []struct {
		name string
		body string
		want int
	}{
		{"empty body", "", 47001},
		{"not JSON", "{", 47001},
		{"form body", "code=" + code, 47001},
		{"code as number", `{"code":12}`, 47001},
		{"no code", `{"openid":"x"}`, 47001},
		{"unknown code", phoneBody(strings.Repeat("ab", 32)), 40029},
		{"wx.login code", phoneBody(loginCode), 40029},
		{"another app's code", phoneBody(otherApp), 40029},
		{"another user's openid", fmt.Sprintf(`{"code":%q,"openid":%q}`, code, openID(appA.AppID, "bob")), 40029},
		{"openid from another app", fmt.Sprintf(`{"code":%q,"openid":%q}`, code, openID(appB.AppID, "alice")), 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWeChatError(t, e.post(t, phonePath, tokenQuery(tok), tt.body), tt.want)
		})
	}

	// Token errors win over body errors.
	checkWeChatError(t, e.post(t, phonePath, nil, "{"), 41001)

	// No rejected call consumed a code: each works once, then 40029.
	if a := e.post(t, phonePath, tokenQuery(tok), phoneBody(code)); a.code() != 0 {
		t.Errorf("code after rejected calls: errcode %d, want success", a.code())
	}
	checkWeChatError(t, e.post(t, phonePath, tokenQuery(tok), phoneBody(code)), 40029)
	if a := e.post(t, phonePath, tokenQuery(e.appToken(t, appB)), phoneBody(otherApp)); a.code() != 0 {
		t.Errorf("appB's code at appB: errcode %d, want success", a.code())
	}
	// The wx.login code still logs in, and a phone code does not.
	if a := e.get(t, loginPath, loginQuery(appA, loginCode)); a.code() != 0 {
		t.Errorf("wx.login code after use at getuserphonenumber: errcode %d, want success", a.code())
	}
	checkWeChatError(t, e.get(t, loginPath, loginQuery(appA, e.phoneCode(t, appA, "alice", ""))), 40029)
}

// Reference §3.5: phone codes expire after 5 minutes.
func TestPhoneCodeExpiry(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration // Config.CodeTTL
		advance time.Duration
		want    int
	}{
		{"default, just before", 0, 5*time.Minute - time.Second, 0},
		{"default, at expiry", 0, 5 * time.Minute, 40029},
		{"short ttl, after", 10 * time.Second, 10 * time.Second, 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.CodeTTL = tt.ttl })
			code := e.phoneCode(t, appA, "alice", "")
			e.clock.Advance(tt.advance)
			tok := e.appToken(t, appA)
			a := e.post(t, phonePath, tokenQuery(tok), phoneBody(code))
			if tt.want == 0 {
				if a.code() != 0 {
					t.Errorf("after %v: errcode %d, want success", tt.advance, a.code())
				}
				return
			}
			checkWeChatError(t, a, tt.want)
		})
	}
}

// Reference §2.3, §7 item 9: a 40001 fault lets a caller exercise its
// "refetch the token and retry once" path; the fault does not consume the
// code.
func TestGetUserPhoneNumberFaultRetry(t *testing.T) {
	e := newEnv(t, nil)
	code := e.phoneCode(t, appA, "alice", "")
	tok := e.stable(t, appA, false).AccessToken
	if status := e.control(t, http.MethodPost, "/faults", map[string]any{"path": phonePath, "errcode": 40001}, nil); status != http.StatusNoContent {
		t.Fatalf("POST /faults: status %d", status)
	}
	checkWeChatError(t, e.post(t, phonePath, tokenQuery(tok), phoneBody(code)), 40001)
	tok = e.stable(t, appA, false).AccessToken
	if a := e.post(t, phonePath, tokenQuery(tok), phoneBody(code)); a.code() != 0 || a.PhoneInfo == nil {
		t.Errorf("retry after the fault: errcode %d, want success", a.code())
	}
	if got := e.sb.Stats()[phonePath]; got != 2 {
		t.Errorf("Stats()[%s] = %d, want 2", phonePath, got)
	}
}

func TestUserPhones(t *testing.T) {
	e := newEnv(t, nil)
	carol, err := e.sb.AddUser("carol")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range e.sb.Users() {
		got[u.Name] = u.Phone
	}
	want := map[string]string{
		"alice":    "+8613800000001",
		"bob":      "+8613800000002",
		"snapshot": "+8613800000003",
		"xiaoming": "+8613800000004",
		"carol":    carol.Phone,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Users() phones (-want +got):\n%s", diff)
	}
	if _, _, err := splitPhone(carol.Phone); err != nil || !strings.HasPrefix(carol.Phone, "+86139") {
		t.Errorf("carol's phone %q: %v; want a valid +86139… number", carol.Phone, err)
	}
	again, _ := newEnv(t, nil).sb.AddUser("carol")
	if again.Phone != carol.Phone {
		t.Errorf("carol's phone after restart = %q, want %q", again.Phone, carol.Phone)
	}
	dave, _ := e.sb.AddUser("dave")
	if dave.Phone == carol.Phone {
		t.Errorf("carol and dave share phone %q", dave.Phone)
	}
}

func TestSplitPhone(t *testing.T) {
	tests := []struct {
		phone, cc, national string // cc "" means invalid
	}{
		{"+8613800000001", "86", "13800000001"},
		{"+12025550123", "1", "2025550123"},
		{"+79161234567", "7", "9161234567"},
		{"+447700900123", "44", "7700900123"},
		{"+85291234567", "852", "91234567"},
		{"+886912345678", "886", "912345678"},
		{"+4915112345678", "49", "15112345678"},
		{"13800000001", "", ""},
		{"+86 13800000001", "", ""},
		{"+86-13800000001", "", ""},
		{"+861380000000", "", ""},     // 10 digits in mainland China
		{"+8623800000001", "", ""},    // not a mobile number
		{"+1234567", "", ""},          // too short
		{"+1234567890123456", "", ""}, // too long
		{"+0123456789", "", ""},
		{"", "", ""},
		{"+", "", ""},
	}
	for _, tt := range tests {
		cc, national, err := splitPhone(tt.phone)
		if tt.cc == "" {
			if err == nil {
				t.Errorf("splitPhone(%q) = %q, %q; want an error", tt.phone, cc, national)
			}
			continue
		}
		if err != nil || cc != tt.cc || national != tt.national {
			t.Errorf("splitPhone(%q) = %q, %q, %v; want %q, %q", tt.phone, cc, national, err, tt.cc, tt.national)
		}
	}
}

func TestIssuePhoneCodeErrors(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct{ appID, user, phone string }{
		{"wxunknown", "alice", ""},
		{appA.AppID, "mallory", ""},
		{appOA.AppID, "alice", ""},
		{appA.AppID, "alice", "13800000001"},
	}
	for _, tt := range tests {
		if code, err := e.sb.IssuePhoneCode(tt.appID, tt.user, tt.phone); err == nil {
			t.Errorf("IssuePhoneCode(%q, %q, %q) = %q, want an error", tt.appID, tt.user, tt.phone, code)
		}
	}
}

// docs/sandbox.md: POST /sandbox/v1/miniprogram/phonecode.
func TestControlPhoneCode(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appA)
	for _, tt := range []struct {
		body map[string]string
		want string
	}{
		{map[string]string{"appid": appA.AppID, "user": "bob"}, "13800000002"},
		{map[string]string{"appid": appA.AppID, "user": "bob", "phone": "+8613912345678"}, "13912345678"},
	} {
		var got struct {
			Code string `json:"code"`
		}
		if status := e.control(t, http.MethodPost, "/miniprogram/phonecode", tt.body, &got); status != http.StatusOK {
			t.Fatalf("POST /miniprogram/phonecode %v: status %d", tt.body, status)
		}
		a := e.post(t, phonePath, tokenQuery(tok), phoneBody(got.Code))
		if a.PhoneInfo == nil || a.PhoneInfo.PurePhoneNumber != tt.want {
			t.Errorf("phone code from %v answers %+v, want %s", tt.body, a.PhoneInfo, tt.want)
		}
	}
}

package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/sandbox"
)

// bindAnswer is the body of a successful POST /v1/login.
type bindAnswer struct {
	api.TokenResponse
	ReturnTo string `json:"return_to"`
}

// oaTicket issues a bind ticket as the Official Account login would for a
// new identity of app oa with no unionid (an account not bound to the Open
// Platform), so that only the phone can link it.
func oaTicket(t *testing.T, s *servertest.Server, openID string) string {
	t.Helper()
	oa, _ := s.Inst.Login.Apps().Named("oa")
	return ticket(t, s, login.Identity{App: oa, OpenID: openID, Nickname: "Carol", AvatarURL: "https://thirdwx.qlogo.cn/carol/132"},
		login.Options{ReturnTo: "/welcome"})
}

func ticket(t *testing.T, s *servertest.Server, id login.Identity, opt login.Options) string {
	t.Helper()
	tk, err := s.Inst.Login.IssueTicket(t.Context(), id, opt)
	if err != nil {
		t.Fatalf("IssueTicket = %v", err)
	}
	return tk
}

func sendSMS(t *testing.T, s *servertest.Server, tk, phone string) servertest.Response {
	t.Helper()
	return s.Do(t, "POST", "/v1/sms/send", map[string]string{"bind_ticket": tk, "phone": phone, "purpose": "bind"}, "")
}

func mustSendSMS(t *testing.T, s *servertest.Server, tk, phone string) string {
	t.Helper()
	if r := sendSMS(t, s, tk, phone); r.Status != http.StatusNoContent {
		t.Fatalf("POST /v1/sms/send %s = %d %s", phone, r.Status, r.Body)
	}
	return smsCode(t, s, phone)
}

// smsCode is the code last delivered to phone's sandbox inbox (the
// development sender's only destination: codes are never logged).
func smsCode(t *testing.T, s *servertest.Server, phone string) string {
	t.Helper()
	msgs := s.Sandbox.SMS(phone)
	if len(msgs) == 0 {
		t.Fatalf("no SMS in the sandbox inbox of %s", phone)
	}
	m := msgs[len(msgs)-1]
	if m.Purpose != "bind" || len(m.Code) != 6 {
		t.Fatalf("last SMS to %s = %+v, want a 6-digit bind code", phone, m)
	}
	return m.Code
}

func postBind(t *testing.T, s *servertest.Server, body map[string]string) servertest.Response {
	t.Helper()
	return s.Do(t, "POST", "/v1/bind", body, "")
}

func mustBind(t *testing.T, s *servertest.Server, body map[string]string) bindAnswer {
	t.Helper()
	r := postBind(t, s, body)
	if r.Status != http.StatusOK {
		t.Fatalf("POST /v1/bind = %d %s", r.Status, r.Body)
	}
	var a bindAnswer
	r.JSON(t, &a)
	if a.AccessToken == "" || a.RefreshToken == "" || a.TokenType != "Bearer" || a.User == nil || !a.User.PhoneBound {
		t.Fatalf("POST /v1/bind = %s, want a token response with a bound phone", r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	return a
}

func TestBindSMSNewUser(t *testing.T) {
	s := servertest.New(t)
	const phone = "+8613700000003"
	tk := oaTicket(t, s, "oa-carol")
	code := mustSendSMS(t, s, tk, phone)

	// A wrong code is refused and leaves the ticket and the code usable.
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": wrong}), 400, api.CodeInvalidSMSCode)

	a := mustBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code})
	if !a.IsNewUser || a.ReturnTo != "/welcome" || a.User.Nickname != "Carol" || a.User.AvatarURL == "" {
		t.Errorf("bind = %+v, want a new user Carol and return_to /welcome", a)
	}
	m := me(t, s, a.AccessToken)
	if m.ID != a.User.ID || m.Phone != phone || len(m.Identities) != 1 || m.Identities[0].App != "oa" || m.Identities[0].OpenID != "oa-carol" {
		t.Errorf("GET /v1/me = %+v", m)
	}
	var sessions api.SessionList
	s.Do(t, "GET", "/v1/sessions", nil, a.AccessToken).JSON(t, &sessions)
	if len(sessions.Sessions) != 1 || sessions.Sessions[0].App != "oa" || !sessions.Sessions[0].Current {
		t.Errorf("GET /v1/sessions = %+v, want the one oa session", sessions)
	}
	// The refresh token works like any other.
	if r := refresh(t, s, a.RefreshToken); r.Status != 200 {
		t.Errorf("refresh after bind = %d %s", r.Status, r.Body)
	}

	// The ticket and the code are spent: no code is sent for the ticket.
	s.Clock.Advance(time.Minute)
	wantError(t, sendSMS(t, s, tk, phone), 400, api.CodeInvalidTicket)
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code}), 400, api.CodeInvalidTicket)
	tk2 := oaTicket(t, s, "oa-carol-2")
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk2, "phone": phone, "sms_code": code}), 400, api.CodeInvalidSMSCode)

	// The log shows the code (the dev sender's point) but never the phone.
	if logs := s.Logs.String(); strings.Contains(logs, phone) || strings.Contains(logs, strings.TrimPrefix(phone, "+86")) {
		t.Error("the logs contain the phone number in clear")
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A ticket may try login.MaxTries SMS codes, across phones and fresh
// codes: the last wrong one spends it, and the sixth guess — the right
// code — answers invalid_ticket.
func TestBindSixthGuessSpendsTicket(t *testing.T) {
	s := servertest.New(t)
	const phone, phone2 = "+8613700000004", "+8613700000014"
	tk := oaTicket(t, s, "oa-dave")
	guess := func(phone, code string) api.Error {
		return wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code}), 400, api.CodeInvalidSMSCode)
	}
	code := mustSendSMS(t, s, tk, phone)
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+500_000)%1_000_000)
	for i := range login.MaxTries - 1 {
		if e := guess(phone, wrong); i == 0 && !strings.Contains(e.Description, "wrong") {
			t.Errorf("first wrong code: description %q", e.Description)
		}
	}
	// The fifth wrong code, to another phone, is the last.
	code2 := mustSendSMS(t, s, tk, phone2)
	if e := guess(phone2, fmt.Sprintf("%06d", (mustAtoi(t, code2)+1)%1_000_000)); !strings.Contains(e.Description, "spent") {
		t.Errorf("fifth wrong code: description %q, want the ticket spent", e.Description)
	}
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code}), 400, api.CodeInvalidTicket)
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone2, "sms_code": code2}), 400, api.CodeInvalidTicket)
	s.Clock.Advance(time.Minute)
	wantError(t, sendSMS(t, s, tk, phone), 400, api.CodeInvalidTicket)
}

// A code belongs to the ticket it was sent for: a code read off the
// victim's screen or a log does not finish the attacker's ticket, and the
// attacker's sends and wrong guesses for the same phone neither replace
// nor burn the victim's code.
func TestBindCodeBelongsToTicket(t *testing.T) {
	s := servertest.New(t)
	const phone = "+8613700000024"
	victim := oaTicket(t, s, "oa-victim")
	code := mustSendSMS(t, s, victim, phone)

	attacker := oaTicket(t, s, "oa-attacker")
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": attacker, "phone": phone, "sms_code": code}), 400, api.CodeInvalidSMSCode)
	s.Clock.Advance(time.Minute)
	mustSendSMS(t, s, attacker, phone)
	for range login.MaxTries + 1 {
		postBind(t, s, map[string]string{"bind_ticket": attacker, "phone": phone, "sms_code": code})
	}
	a := mustBind(t, s, map[string]string{"bind_ticket": victim, "phone": phone, "sms_code": code})
	if m := me(t, s, a.AccessToken); len(m.Identities) != 1 || m.Identities[0].OpenID != "oa-victim" {
		t.Errorf("GET /v1/me = %+v, want the victim's identity only", m)
	}
}

func TestBindNewCodeReplacesOld(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.SMS.Countries = []string{"86", "44"} }))
	const phone = "+447700900123"
	tk := oaTicket(t, s, "oa-erin")
	old := mustSendSMS(t, s, tk, phone)
	s.Clock.Advance(time.Minute)
	code := mustSendSMS(t, s, tk, phone)
	if old != code {
		wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": old}), 400, api.CodeInvalidSMSCode)
	}
	a := mustBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code})
	if m := me(t, s, a.AccessToken); m.Phone != phone {
		t.Errorf("phone = %q, want %q", m.Phone, phone)
	}
}

func TestBindExpiry(t *testing.T) {
	s := servertest.New(t)
	const phone = "+8613700000005"
	tk := oaTicket(t, s, "oa-frank")
	code := mustSendSMS(t, s, tk, phone)
	s.Clock.Advance(login.CodeTTL)
	e := wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code}), 400, api.CodeInvalidSMSCode)
	if !strings.Contains(e.Description, "expired") {
		t.Errorf("expired code: description %q", e.Description)
	}
	// A code sent to another phone is no code for this one.
	code = mustSendSMS(t, s, tk, "+8613700000006")
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code}), 400, api.CodeInvalidSMSCode)

	// The ticket lives TicketTTL from its issue: a code sent just before
	// does not outlive it, and no code is sent after.
	s.Clock.Advance(login.TicketTTL - login.CodeTTL - time.Minute)
	code = mustSendSMS(t, s, tk, phone)
	s.Clock.Advance(time.Minute)
	e = wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code}), 400, api.CodeInvalidTicket)
	if !strings.Contains(e.Description, "expired") {
		t.Errorf("expired ticket: description %q", e.Description)
	}
	wantError(t, sendSMS(t, s, tk, phone), 400, api.CodeInvalidTicket)
	// The code belongs to the dead ticket: a new login needs a new code.
	tk = oaTicket(t, s, "oa-frank")
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code}), 400, api.CodeInvalidSMSCode)
	s.Clock.Advance(time.Minute)
	mustBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": mustSendSMS(t, s, tk, phone)})
}

func TestBindBadRequests(t *testing.T) {
	s := servertest.New(t)
	tk := oaTicket(t, s, "oa-gina")
	for name, tc := range map[string]struct {
		path   string
		body   any
		status int
		code   string
	}{
		"send: no phone":          {"/v1/sms/send", map[string]string{"bind_ticket": tk, "purpose": "bind"}, 400, api.CodeInvalidRequest},
		"send: no ticket":         {"/v1/sms/send", map[string]string{"phone": "+8613800000000", "purpose": "bind"}, 400, api.CodeInvalidRequest},
		"send: unknown ticket":    {"/v1/sms/send", map[string]string{"bind_ticket": strings.Repeat("A", 43), "phone": "+8613800000000", "purpose": "bind"}, 400, api.CodeInvalidTicket},
		"send: local number":      {"/v1/sms/send", map[string]string{"bind_ticket": tk, "phone": "13800000000", "purpose": "bind"}, 400, api.CodeInvalidRequest},
		"send: short +86":         {"/v1/sms/send", map[string]string{"bind_ticket": tk, "phone": "+86138000000", "purpose": "bind"}, 400, api.CodeInvalidRequest},
		"send: +86 landline":      {"/v1/sms/send", map[string]string{"bind_ticket": tk, "phone": "+862012345678", "purpose": "bind"}, 400, api.CodeInvalidRequest},
		"send: too long":          {"/v1/sms/send", map[string]string{"bind_ticket": tk, "phone": "+1234567890123456", "purpose": "bind"}, 400, api.CodeInvalidRequest},
		"send: other purpose":     {"/v1/sms/send", map[string]string{"bind_ticket": tk, "phone": "+8613800000000", "purpose": "login"}, 400, api.CodeInvalidRequest},
		"send: bad JSON":          {"/v1/sms/send", `{"phone": 138}`, 400, api.CodeInvalidRequest},
		"bind: no ticket":         {"/v1/bind", map[string]string{"phone": "+8613800000000", "sms_code": "123456"}, 400, api.CodeInvalidRequest},
		"bind: no code":           {"/v1/bind", map[string]string{"bind_ticket": tk, "phone": "+8613800000000"}, 400, api.CodeInvalidRequest},
		"bind: both proofs":       {"/v1/bind", map[string]string{"bind_ticket": tk, "phone": "+8613800000000", "sms_code": "123456", "phone_code": "x"}, 400, api.CodeInvalidRequest},
		"bind: garbage ticket":    {"/v1/bind", map[string]string{"bind_ticket": "nope", "phone": "+8613800000000", "sms_code": "123456"}, 400, api.CodeInvalidTicket},
		"bind: unknown ticket":    {"/v1/bind", map[string]string{"bind_ticket": strings.Repeat("A", 43), "phone": "+8613800000000", "sms_code": "123456"}, 400, api.CodeInvalidTicket},
		"bind: bad phone":         {"/v1/bind", map[string]string{"bind_ticket": tk, "phone": "138", "sms_code": "123456"}, 400, api.CodeInvalidRequest},
		"bind: no code sent":      {"/v1/bind", map[string]string{"bind_ticket": tk, "phone": "+8613800000000", "sms_code": "123456"}, 400, api.CodeInvalidSMSCode},
		"bind: malformed code":    {"/v1/bind", map[string]string{"bind_ticket": tk, "phone": "+8613800000000", "sms_code": "12a456"}, 400, api.CodeInvalidSMSCode},
		"bind: wrong method type": {"/v1/bind", `{"bind_ticket": 5}`, 400, api.CodeInvalidRequest},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, s.Do(t, "POST", tc.path, tc.body, ""), tc.status, tc.code)
		})
	}
	// None of that spent the ticket.
	code := mustSendSMS(t, s, tk, "+8613800000000")
	mustBind(t, s, map[string]string{"bind_ticket": tk, "phone": "+8613800000000", "sms_code": code})
}

func TestSMSRateLimits(t *testing.T) {
	t.Run("per phone", func(t *testing.T) {
		s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.RateLimits.SMSPerPhoneDay = "3/24h" }))
		const phone = "+8613700000007"
		tk := func() string { return oaTicket(t, s, "oa-rate") }
		mustSendSMS(t, s, tk(), phone)
		r := sendSMS(t, s, tk(), phone)
		wantError(t, r, 429, api.CodeRateLimited)
		if ra := r.Header.Get("Retry-After"); ra != "60" {
			t.Errorf("Retry-After = %q, want 60", ra)
		}
		// Another phone is not held back.
		mustSendSMS(t, s, tk(), "+8613700000008")
		// A minute later, again; the third of the day is the last.
		for range 2 {
			s.Clock.Advance(time.Minute)
			mustSendSMS(t, s, tk(), phone)
		}
		s.Clock.Advance(time.Minute)
		r = sendSMS(t, s, tk(), phone)
		wantError(t, r, 429, api.CodeRateLimited)
		if ra := r.Header.Get("Retry-After"); mustAtoi(t, ra) < 3600 {
			t.Errorf("Retry-After = %q, want the rest of the day", ra)
		}
	})
	t.Run("per address", func(t *testing.T) {
		s := servertest.New(t, servertest.Configure(func(c *config.Config) {
			c.RateLimits.SMSPerIPHour = "3/1h"
			c.TrustedProxyHeader = "X-Forwarded-For"
		}))
		sendFrom := func(ip, phone string) servertest.Response {
			t.Helper()
			req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/v1/sms/send",
				strings.NewReader(`{"bind_ticket":"`+oaTicket(t, s, "oa-rate")+`","phone":"`+phone+`","purpose":"bind"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", ip)
			resp, err := s.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
			return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: []byte(b.String())}
		}
		for i := range 3 {
			if r := sendFrom("198.51.100.7", fmt.Sprintf("+861370000010%d", i)); r.Status != 204 {
				t.Fatalf("send %d = %d %s", i, r.Status, r.Body)
			}
		}
		wantError(t, sendFrom("198.51.100.7", "+8613700000109"), 429, api.CodeRateLimited)
		if r := sendFrom("198.51.100.8", "+8613700000109"); r.Status != 204 {
			t.Errorf("from another address = %d %s", r.Status, r.Body)
		}
	})
}

// A phone that already belongs to a user links the new identity to that
// user (docs/api.md "Binding").
func TestBindLinksThePhoneOwner(t *testing.T) {
	s := servertest.New(t)
	alice := s.Login(t, "mp", "alice")
	pc, err := s.Sandbox.IssuePhoneCode(s.AppID(t, "mp"), "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	var p phoneAnswer
	s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": pc}, alice.AccessToken).JSON(t, &p)
	if p.Phone != "+8613800000001" {
		t.Fatalf("alice's phone = %q", p.Phone)
	}
	tk := oaTicket(t, s, "oa-alice-unbound")
	code := mustSendSMS(t, s, tk, p.Phone)
	a := mustBind(t, s, map[string]string{"bind_ticket": tk, "phone": p.Phone, "sms_code": code})
	if a.IsNewUser || a.User.ID != alice.User.ID {
		t.Fatalf("bind with alice's phone: user %q new=%v, want alice %q, not new", a.User.ID, a.IsNewUser, alice.User.ID)
	}
	m := me(t, s, a.AccessToken)
	apps := map[string]string{}
	for _, id := range m.Identities {
		apps[id.App] = id.OpenID
	}
	if m.ID != alice.User.ID || m.Phone != p.Phone || len(m.Identities) != 2 || apps["oa"] != "oa-alice-unbound" || apps["mp"] == "" {
		t.Errorf("GET /v1/me = %+v, want alice with her mp and the new oa identity", m)
	}
	// What alice lacked, the ticket filled in.
	if m.Nickname != "Carol" {
		t.Errorf("nickname = %q, want the ticket's (alice had none)", m.Nickname)
	}
	// Her mini program session is untouched; the new one is hers too.
	if got := me(t, s, alice.AccessToken); got.ID != alice.User.ID || len(got.Identities) != 2 {
		t.Errorf("GET /v1/me with alice's first session = %+v", got)
	}
}

func TestBindConcurrent(t *testing.T) {
	const n = 10
	s := servertest.New(t)
	run := func(bodies []map[string]string) (ok int, codes map[string]int) {
		t.Helper()
		rs := make([]servertest.Response, len(bodies))
		var ready, done sync.WaitGroup
		gate := make(chan struct{})
		for i, b := range bodies {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Done()
				<-gate
				rs[i] = s.Do(t, "POST", "/v1/bind", b, "")
			}()
		}
		ready.Wait()
		close(gate)
		done.Wait()
		codes = map[string]int{}
		for _, r := range rs {
			if r.Status == 200 {
				ok++
				continue
			}
			codes[r.Error(t).Code]++
		}
		return ok, codes
	}

	t.Run("one ticket, many phones", func(t *testing.T) {
		tk := oaTicket(t, s, "oa-henry")
		var sent []map[string]string
		for i := range login.MaxSends {
			phone := fmt.Sprintf("+8613600000%03d", i)
			sent = append(sent, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": mustSendSMS(t, s, tk, phone)})
		}
		bodies := make([]map[string]string, n)
		for i := range bodies {
			bodies[i] = sent[i%len(sent)]
		}
		ok, codes := run(bodies)
		if ok != 1 || codes[api.CodeInvalidTicket]+codes[api.CodeInvalidSMSCode] != n-1 {
			t.Errorf("%d concurrent binds of one ticket over %d phones: %d succeeded, failures %v; want exactly 1 success", n, len(sent), ok, codes)
		}
	})
	t.Run("one ticket, one code", func(t *testing.T) {
		tk := oaTicket(t, s, "oa-iris")
		const phone = "+8613600000999"
		body := map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": mustSendSMS(t, s, tk, phone)}
		bodies := make([]map[string]string, n)
		for i := range bodies {
			bodies[i] = body
		}
		ok, codes := run(bodies)
		if ok != 1 || codes[api.CodeInvalidSMSCode]+codes[api.CodeInvalidTicket] != n-1 {
			t.Errorf("%d concurrent identical binds: %d succeeded, failures %v; want exactly 1 success", n, ok, codes)
		}
	})
}

func TestBindPhoneCode(t *testing.T) {
	s := servertest.New(t)
	mp := s.AppID(t, "mp")
	// An Official Account ticket: the code is exchanged through the one
	// mini program.
	tk := oaTicket(t, s, "oa-bob-unbound")
	pc, err := s.Sandbox.IssuePhoneCode(mp, "bob", "+8613900000007")
	if err != nil {
		t.Fatal(err)
	}
	a := mustBind(t, s, map[string]string{"bind_ticket": tk, "phone_code": pc})
	if !a.IsNewUser || a.ReturnTo != "/welcome" {
		t.Errorf("bind = %+v", a)
	}
	if m := me(t, s, a.AccessToken); m.Phone != "+8613900000007" {
		t.Errorf("phone = %q", m.Phone)
	}
	// A getPhoneNumber code works once (WeChat: 40029); the ticket was spent anyway.
	e := wantError(t, postBind(t, s, map[string]string{"bind_ticket": oaTicket(t, s, "oa-x"), "phone_code": pc}), 400, api.CodeInvalidCode)
	if e.WeChatErrcode == nil || *e.WeChatErrcode != 40029 {
		t.Errorf("reused phone code: wechat_errcode = %v", e.WeChatErrcode)
	}
	wantError(t, postBind(t, s, map[string]string{"bind_ticket": tk, "phone_code": pc}), 400, api.CodeInvalidTicket)
}

// With registration bind_phone, a mini program login of a new user answers
// a ticket; the bind finishes it, keeping the session_key on the session.
func TestBindAfterMiniProgramLogin(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.Registration = config.RegistrationBindPhone }))
	mp := s.AppID(t, "mp")
	r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: s.Code(t, "mp", "bob")}, "")
	var br api.BindRequired
	r.JSON(t, &br)
	if r.Status != 200 || !br.BindRequired || br.BindTicket == "" {
		t.Fatalf("login of a new user under bind_phone = %d %s", r.Status, r.Body)
	}
	pc, err := s.Sandbox.IssuePhoneCode(mp, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	a := mustBind(t, s, map[string]string{"bind_ticket": br.BindTicket, "phone_code": pc})
	if !a.IsNewUser || a.ReturnTo != "" {
		t.Errorf("bind = %+v", a)
	}
	// The session holds bob's session_key: his encrypted profile opens.
	enc, err := s.Sandbox.Encrypted(mp, "bob", sandbox.EncryptedUserInfo)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"encrypted_data": enc.EncryptedData, "iv": enc.IV, "raw_data": enc.RawData, "signature": enc.Signature}
	if r := s.Do(t, "POST", "/v1/miniprogram/userinfo", body, a.AccessToken); r.Status != 200 {
		t.Errorf("userinfo on the bound session = %d %s", r.Status, r.Body)
	}
	// Bob is known now: his next login answers tokens.
	if again := s.Login(t, "mp", "bob"); again.User.ID != a.User.ID || again.IsNewUser {
		t.Errorf("next login = %+v, want bob %q", again, a.User.ID)
	}
}

// "One per phone per 60 s" is 60 s after the last send, not once per clock
// minute: two sends two seconds apart across a minute boundary are not both
// let through.
func TestSMSSpacingAcrossMinuteBoundary(t *testing.T) {
	s := servertest.New(t)
	now := s.Clock.Now()
	s.Clock.Advance(now.Truncate(time.Minute).Add(time.Minute - time.Second).Sub(now)) // hh:mm:59
	tk := oaTicket(t, s, "oa-spacing")
	mustSendSMS(t, s, tk, "+8613900000077")
	s.Clock.Advance(2 * time.Second) // hh:(mm+1):01
	r := sendSMS(t, s, tk, "+8613900000077")
	wantError(t, r, 429, api.CodeRateLimited)
	if ra := mustAtoi(t, r.Header.Get("Retry-After")); ra < 55 || ra > 60 {
		t.Errorf("Retry-After = %d, want about 58 (60 s after the last send)", ra)
	}
	s.Clock.Advance(58 * time.Second)
	mustSendSMS(t, s, tk, "+8613900000077")
}

// postRaw posts body to path with the given Content-Type ("" for none).
func postRaw(t *testing.T, s *servertest.Server, path, contentType, body string) servertest.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// A plain HTML form on another site posts without a CORS preflight, as
// application/x-www-form-urlencoded, multipart/form-data or text/plain —
// even with a JSON-looking body. Neither /v1/sms/send nor /v1/bind takes
// it: 415, and no code is sent.
func TestBindOnlyJSON(t *testing.T) {
	s := servertest.New(t)
	const phone = "+8613700000031"
	tk := oaTicket(t, s, "oa-json")
	send := `{"bind_ticket":"` + tk + `","phone":"` + phone + `","purpose":"bind"}`
	bind := `{"bind_ticket":"` + tk + `","phone":"` + phone + `","sms_code":"123456"}`
	for _, ct := range []string{"", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"} {
		for path, body := range map[string]string{"/v1/sms/send": send, "/v1/bind": bind} {
			e := wantError(t, postRaw(t, s, path, ct, body), http.StatusUnsupportedMediaType, api.CodeInvalidRequest)
			if !strings.Contains(e.Description, "application/json") {
				t.Errorf("POST %s as %q: description %q", path, ct, e.Description)
			}
		}
	}
	if strings.Contains(s.Logs.String(), "sms code (development sender)") {
		t.Fatal("a form post sent a code")
	}
	// With its parameters, JSON is taken.
	if r := postRaw(t, s, "/v1/sms/send", "application/json; charset=utf-8", send); r.Status != http.StatusNoContent {
		t.Fatalf("POST /v1/sms/send as JSON = %d %s", r.Status, r.Body)
	}
}

// No ticket, no code: /v1/sms/send is no free SMS cannon.
func TestSMSSendNeedsTicket(t *testing.T) {
	s := servertest.New(t)
	const phone = "+8613700000032"
	wantError(t, s.Do(t, "POST", "/v1/sms/send", map[string]string{"phone": phone, "purpose": "bind"}, ""), 400, api.CodeInvalidRequest)
	wantError(t, sendSMS(t, s, strings.Repeat("A", 43), phone), 400, api.CodeInvalidTicket)
	if strings.Contains(s.Logs.String(), "sms code (development sender)") {
		t.Fatal("a code was sent without a ticket")
	}
}

// Codes go only to sms.countries (default 86): elsewhere 400
// phone_not_allowed, nothing sent.
func TestSMSCountries(t *testing.T) {
	s := servertest.New(t)
	tk := oaTicket(t, s, "oa-abroad")
	for _, phone := range []string{"+447700900123", "+12025550123", "+85291234567"} {
		wantError(t, sendSMS(t, s, tk, phone), 400, api.CodePhoneNotAllowed)
	}
	if strings.Contains(s.Logs.String(), "sms code (development sender)") {
		t.Fatal("a code went abroad")
	}
	mustSendSMS(t, s, tk, "+8613700000033")

	s = servertest.New(t, servertest.Configure(func(c *config.Config) { c.SMS.Countries = []string{"86", "852"} }))
	mustSendSMS(t, s, oaTicket(t, s, "oa-hk"), "+85291234567")
}

// A ticket has login.MaxSends codes: the next send answers 429 until the
// ticket expires, whatever the phone.
func TestSMSSendsPerTicket(t *testing.T) {
	s := servertest.New(t)
	tk := oaTicket(t, s, "oa-many")
	for i := range login.MaxSends {
		mustSendSMS(t, s, tk, fmt.Sprintf("+861370000004%d", i))
	}
	r := sendSMS(t, s, tk, "+8613700000049")
	e := wantError(t, r, 429, api.CodeRateLimited)
	if !strings.Contains(e.Description, "log in again") {
		t.Errorf("description %q", e.Description)
	}
	if ra := mustAtoi(t, r.Header.Get("Retry-After")); ra < 1 || ra > int(login.TicketTTL/time.Second) {
		t.Errorf("Retry-After = %d, want at most the ticket's life", ra)
	}
}

// The daily budget counts every code the service sends; spent, a send
// answers 503 unavailable and wxauth_sms_budget_exhausted_total rises;
// the next UTC day sends again.
func TestSMSDailyBudget(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.SMS.DailyBudget = "2" }))
	mustSendSMS(t, s, oaTicket(t, s, "oa-b1"), "+8613700000051")
	mustSendSMS(t, s, oaTicket(t, s, "oa-b2"), "+8613700000052")
	e := wantError(t, sendSMS(t, s, oaTicket(t, s, "oa-b3"), "+8613700000053"), 503, api.CodeUnavailable)
	if !strings.Contains(e.Description, "00:00 UTC") {
		t.Errorf("description %q", e.Description)
	}
	var m dto.Metric
	if err := s.Inst.Metrics.SMSBudgetExhausted.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Errorf("wxauth_sms_budget_exhausted_total = %v, want 1", got)
	}
	now := s.Clock.Now()
	s.Clock.Advance(now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now))
	mustSendSMS(t, s, oaTicket(t, s, "oa-b4"), "+8613700000053")
}

package server_test

import (
	"bytes"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// adminKey is admin_e2e_test.go's.
const introKey = "intro-key-0123456789abcdef"

// withAdminKey gives the stack a service key of scope admin and one
// without.
func withAdminKey() servertest.Option {
	return servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = append(c.ServiceKeys,
			config.ServiceKey{Name: "auditor", Scopes: []string{api.ScopeAdmin}, Secret: adminKey},
			config.ServiceKey{Name: "intro", Scopes: []string{api.ScopeIntrospect}, Secret: introKey})
	})
}

// flushAudit waits until every event recorded so far is in the database.
func flushAudit(t *testing.T, s *servertest.Server) {
	t.Helper()
	if err := s.Inst.Audit.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// auditPage is GET /v1/admin/audit?query with the admin key.
func auditPage(t *testing.T, s *servertest.Server, query string) api.AuditPage {
	t.Helper()
	r := s.Do(t, "GET", "/v1/admin/audit?"+query, nil, adminKey)
	if r.Status != 200 {
		t.Fatalf("GET /v1/admin/audit?%s = %d %s", query, r.Status, r.Body)
	}
	var p api.AuditPage
	r.JSON(t, &p)
	return p
}

func types(events []api.AuditEvent) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return strings.Join(out, " ")
}

// A login, a refresh reuse and a logout reach the audit API with their
// types, user, session, app and address; the filters select; no token or
// code is anywhere in the table.
func TestAuditTrail(t *testing.T) {
	s := servertest.New(t, withAdminKey())
	code := s.Code(t, "mp", "alice")
	r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: code}, "")
	if r.Status != 200 {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	var a1 api.TokenResponse
	r.JSON(t, &a1)
	alice := a1.User.ID
	bob := s.Login(t, "mp", "bob")
	a2 := s.Login(t, "mp", "alice")
	// Reuse of a1: an ancestor two generations back.
	var r1, r2 api.TokenResponse
	refresh(t, s, a1.RefreshToken).JSON(t, &r1)
	refresh(t, s, r1.RefreshToken).JSON(t, &r2)
	wantError(t, refresh(t, s, a1.RefreshToken), 401, api.CodeRefreshTokenReused)
	s.Clock.Advance(time.Minute)
	since := s.Clock.Now()
	if r := s.Do(t, "POST", "/v1/logout", `{}`, a2.AccessToken); r.Status != 204 {
		t.Fatalf("logout = %d %s", r.Status, r.Body)
	}
	flushAudit(t, s)

	p := auditPage(t, s, "user="+alice)
	if got, want := types(p.Events), "logout refresh_reuse login login user_created"; got != want {
		t.Fatalf("alice's events = %s, want %s", got, want)
	}
	if p.NextCursor != "" {
		t.Errorf("next_cursor = %q on the only page, want none", p.NextCursor)
	}
	sessions := []string{a2.SessionID, a1.SessionID, a2.SessionID, a1.SessionID, a1.SessionID}
	for i, e := range p.Events {
		if e.UserID != alice || e.SessionID != sessions[i] || e.IP != "127.0.0.1" || e.ID == "" || e.At.IsZero() {
			t.Errorf("event %d = %+v, want user %s, session %s, ip 127.0.0.1", i, e, alice, sessions[i])
		}
		if e.Type != string(audit.RefreshReuse) && e.App != "mp" {
			t.Errorf("event %d (%s) app = %q, want mp", i, e.Type, e.App)
		}
	}
	if e := p.Events[0]; e.Actor != "user" || e.Detail != "this session" {
		t.Errorf("logout = %+v, want actor user, detail \"this session\"", e)
	}
	if e := p.Events[4]; !strings.Contains(e.Detail, "miniprogram") {
		t.Errorf("user_created detail = %q, want the flow", e.Detail)
	}

	if got := types(auditPage(t, s, "type=login").Events); got != "login login login" {
		t.Errorf("type=login: %s, want three logins", got)
	}
	if p := auditPage(t, s, "type=login&user="+bob.User.ID); len(p.Events) != 1 || p.Events[0].SessionID != bob.SessionID {
		t.Errorf("bob's logins = %+v, want his one", p.Events)
	}
	if got := types(auditPage(t, s, "since="+url.QueryEscape(since.Format(time.RFC3339Nano))).Events); got != "logout" {
		t.Errorf("since the minute passed: %s, want the logout", got)
	}
	if p := auditPage(t, s, "user=nobody"); len(p.Events) != 0 || p.Events == nil {
		t.Errorf("an unknown user's events = %#v, want []", p.Events)
	}

	// Nothing secret anywhere: not in the answers, not in the database
	// file (the table and its write-ahead log).
	secrets := []string{code, a1.AccessToken, a1.RefreshToken, r1.RefreshToken, r2.RefreshToken, a2.AccessToken, a2.RefreshToken,
		bob.AccessToken, bob.RefreshToken}
	all := s.Do(t, "GET", "/v1/admin/audit?limit=500", nil, adminKey)
	path := strings.TrimPrefix(s.Config.DatabaseURL, "sqlite:")
	var db []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		db = append(db, b...)
	}
	if !bytes.Contains(db, []byte(alice)) || !bytes.Contains(db, []byte("refresh_reuse")) {
		t.Fatal("the database file does not hold the events: wrong file?")
	}
	for _, sec := range secrets {
		if strings.Contains(string(all.Body), sec) {
			t.Errorf("GET /v1/admin/audit shows a token or code %.12s…", sec)
		}
		// Refresh tokens are stored hashed, never whole; any whole token
		// in the file came from the trail.
		if bytes.Contains(db, []byte(sec)) {
			t.Errorf("the database file holds a token or code %.12s…", sec)
		}
	}

	var m dto.Metric
	if err := s.Inst.Metrics.AuditEvents.WithLabelValues("login").Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 3 {
		t.Errorf(`wxauth_audit_events_total{type="login"} = %v, want 3`, got)
	}
}

// Bad parameters are 400 invalid_request; a key without admin is 403.
func TestAuditBadRequests(t *testing.T) {
	s := servertest.New(t, withAdminKey())
	for _, q := range []string{
		"limit=0", "limit=501", "limit=ten", "since=yesterday", "since=2026-12-01", "cursor=garbage", "cursor=YTEuMA",
		"type=Login", "type=login;drop", "user=" + strings.Repeat("u", 129), "foo=1", "user=a&user=b",
	} {
		t.Run(q, func(t *testing.T) {
			wantError(t, s.Do(t, "GET", "/v1/admin/audit?"+q, nil, adminKey), 400, api.CodeInvalidRequest)
		})
	}
	wantError(t, s.Do(t, "GET", "/v1/admin/audit", nil, introKey), 403, api.CodeInsufficientScope)
	wantError(t, s.Do(t, "GET", "/v1/admin/audit", nil, "unknown-key-0123456789"), 401, api.CodeInvalidToken)
	l := s.Login(t, "mp", "alice")
	wantError(t, s.Do(t, "GET", "/v1/admin/audit", nil, l.AccessToken), 401, api.CodeInvalidToken)
}

// Following next_cursor lists every event once, newest first, while
// logins keep adding events.
func TestAuditPages(t *testing.T) {
	s := servertest.New(t, withAdminKey())
	for i := range 12 {
		s.Login(t, "mp", []string{"alice", "bob"}[i%2])
	}
	flushAudit(t, s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, err := s.Sandbox.IssueCode(s.AppID(t, "mp"), "alice")
			if err != nil {
				t.Error(err)
				return
			}
			if r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: code}, ""); r.Status != 200 {
				t.Errorf("login during paging = %d", r.Status)
				return
			}
			if err := s.Inst.Audit.Flush(t.Context()); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var got []api.AuditEvent
	q := "limit=5"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages of 5")
		}
		p := auditPage(t, s, q)
		got = append(got, p.Events...)
		if p.NextCursor == "" {
			break
		}
		q = "limit=5&cursor=" + url.QueryEscape(p.NextCursor)
	}
	close(stop)
	wg.Wait()
	// Every event up to the newest of the first page, once, in order.
	flushAudit(t, s)
	all := auditPage(t, s, "limit=500").Events
	var want []api.AuditEvent
	for _, e := range all {
		if len(want) > 0 || e.ID == got[0].ID {
			want = append(want, e)
		}
	}
	if len(want) < 14 || len(got) != len(want) {
		t.Fatalf("paged %d events, want %d (14 or more)", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("page event %d = %s, want %s: a gap or a repeat", i, got[i].ID, want[i].ID)
		}
	}
}

// With audit.enabled false nothing is recorded, and logins work as ever.
func TestAuditOff(t *testing.T) {
	s := servertest.New(t, withAdminKey(), servertest.Configure(func(c *config.Config) { c.Audit.Enabled = "false" }))
	if s.Inst.Audit != nil {
		t.Fatal("Instance.Audit is set with audit.enabled false")
	}
	l := s.Login(t, "mp", "alice")
	if r := s.Do(t, "POST", "/v1/logout", `{}`, l.AccessToken); r.Status != 204 {
		t.Fatalf("logout = %d", r.Status)
	}
	if p := auditPage(t, s, ""); len(p.Events) != 0 {
		t.Errorf("events with audit off = %s, want none", types(p.Events))
	}
}

// A bind records the new user, the login, the phone set and the bind,
// and the phone number is in none of them.
func TestAuditBind(t *testing.T) {
	s := servertest.New(t, withAdminKey())
	const phone = "+8613700000093"
	tk := oaTicket(t, s, "oa-audit")
	code := mustSendSMS(t, s, tk, phone)
	a := mustBind(t, s, map[string]string{"bind_ticket": tk, "phone": phone, "sms_code": code})
	flushAudit(t, s)
	r := s.Do(t, "GET", "/v1/admin/audit?user="+a.User.ID, nil, adminKey)
	var p api.AuditPage
	r.JSON(t, &p)
	if got, want := types(p.Events), "bind phone_changed login user_created"; got != want {
		t.Fatalf("events of a bind = %s, want %s", got, want)
	}
	for _, e := range p.Events {
		if e.App != "oa" || e.SessionID == "" || !strings.Contains(e.Detail, "bind") && e.Type != "bind" {
			t.Errorf("event %+v, want app oa, a session and the bind flow", e)
		}
	}
	if p.Events[0].Detail != "phone proven by sms_code" {
		t.Errorf("bind detail = %q", p.Events[0].Detail)
	}
	for _, secret := range []string{phone, strings.TrimPrefix(phone, "+86"), code, tk} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the audit trail shows %q", secret)
		}
	}
}

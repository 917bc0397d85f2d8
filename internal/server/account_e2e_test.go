package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/storage"
)

func TestDeleteAccount(t *testing.T) {
	s := servertest.New(t)
	old := s.Login(t, "mp", "alice")
	s.Clock.Advance(11 * time.Minute)
	fresh := s.Login(t, "mp", "alice")
	bob := s.Login(t, "mp", "bob")

	// The older session's login is past account.delete_recent_login (10m),
	// refreshed or not.
	r := refresh(t, s, old.RefreshToken)
	if r.Status != 200 {
		t.Fatalf("refresh = %d %s", r.Status, r.Body)
	}
	var refreshed api.TokenResponse
	r.JSON(t, &refreshed)
	wantError(t, s.Do(t, "DELETE", "/v1/me", nil, refreshed.AccessToken), 403, api.CodeReauthenticationRequired)

	var seen []string
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan struct{})
	go s.Inst.Sessions.SubscribeRevoked(ctx, func() { close(ready) }, func(rs storage.RevokedSession) {
		mu.Lock()
		seen = append(seen, rs.SID)
		mu.Unlock()
	})
	<-ready

	if r := s.Do(t, "DELETE", "/v1/me", nil, fresh.AccessToken); r.Status != 204 {
		t.Fatalf("DELETE /v1/me = %d %s", r.Status, r.Body)
	}
	for _, tok := range []string{refreshed.AccessToken, fresh.AccessToken} {
		wantError(t, s.Do(t, "GET", "/v1/me", nil, tok), 401, api.CodeSessionRevoked)
	}
	wantError(t, refresh(t, s, refreshed.RefreshToken), 401, api.CodeInvalidGrant)
	wantError(t, refresh(t, s, fresh.RefreshToken), 401, api.CodeInvalidGrant)
	if r := s.Do(t, "GET", "/v1/me", nil, bob.AccessToken); r.Status != 200 {
		t.Errorf("deleting alice touched bob: %d", r.Status)
	}
	// The push carried both sessions: memstore calls its subscribers
	// before PublishRevoked returns, so before the 204.
	mu.Lock()
	got := map[string]bool{}
	for _, sid := range seen {
		got[sid] = true
	}
	mu.Unlock()
	if !got[old.SessionID] || !got[fresh.SessionID] {
		t.Errorf("revocation feed = %v, want both of alice's sessions", seen)
	}
	if _, err := s.Inst.Users.User(t.Context(), fresh.User.ID); err == nil {
		t.Errorf("user %s still stored", fresh.User.ID)
	}

	again := s.Login(t, "mp", "alice")
	if again.User.ID == fresh.User.ID || !again.IsNewUser {
		t.Errorf("re-login after delete = user %s new %v, want a new user (old %s)", again.User.ID, again.IsNewUser, fresh.User.ID)
	}
}

func TestExportAccount(t *testing.T) {
	s := servertest.New(t)
	a := s.Login(t, "mp", "alice")
	s.Login(t, "mp", "alice")
	var out api.AccountExport
	r := s.Do(t, "GET", "/v1/me/export", nil, a.AccessToken)
	if r.Status != 200 {
		t.Fatalf("export = %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	if out.User.ID != a.User.ID || out.User.Nickname != a.User.Nickname {
		t.Errorf("export user = %+v, want %+v", out.User, a.User)
	}
	if len(out.Identities) != 1 || out.Identities[0].App != "mp" || out.Identities[0].AppID != s.AppID(t, "mp") || out.Identities[0].OpenID == "" {
		t.Errorf("export identities = %+v", out.Identities)
	}
	// The audit trail holds the user's client addresses: the export lists
	// its events (flushed first: they are written in batches).
	if err := s.Inst.Audit.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r = s.Do(t, "GET", "/v1/me/export", nil, a.AccessToken)
	out = api.AccountExport{}
	r.JSON(t, &out)
	logins := 0
	for _, e := range out.Events {
		if e.UserID != a.User.ID {
			t.Errorf("export event of another user: %+v", e)
		}
		if e.Type == string(audit.Login) {
			logins++
		}
	}
	if logins != 2 {
		t.Errorf("export events = %+v, want the 2 logins", out.Events)
	}
	if len(out.Sessions) != 2 || len(out.NotHeld) == 0 {
		t.Errorf("export sessions = %+v, not_held = %v", out.Sessions, out.NotHeld)
	}
	for _, ss := range out.Sessions {
		if ss.App != "mp" || ss.CreatedAt.IsZero() {
			t.Errorf("export session = %+v", ss)
		}
	}
}

func TestDisableUser(t *testing.T) {
	s := servertest.New(t)
	a := s.Login(t, "mp", "alice")
	b := s.Login(t, "mp", "alice")
	if err := s.Inst.Account.Disable(t.Context(), a.User.ID, "admin_cli"); err != nil {
		t.Fatalf("Disable = %v", err)
	}
	wantError(t, s.Do(t, "GET", "/v1/me", nil, a.AccessToken), 401, api.CodeSessionRevoked)
	wantError(t, refresh(t, s, b.RefreshToken), 401, api.CodeInvalidGrant)
	r := s.Do(t, "POST", "/v1/miniprogram/login", map[string]string{"app": "mp", "code": s.Code(t, "mp", "alice")}, "")
	wantError(t, r, 403, api.CodeUserDisabled)

	// H5: the same person through the official account (unionid-linked).
	br := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("alice-browser-verifier-0123456789-abcdefghij")
	code, state := br.authorizeAs("alice", oauthParams(s, challenge))
	wantError(t, br.login(code, state, verifier), 403, api.CodeUserDisabled)

	if err := s.Inst.Account.Enable(t.Context(), a.User.ID, "admin_cli"); err != nil {
		t.Fatalf("Enable = %v", err)
	}
	if back := s.Login(t, "mp", "alice"); back.User.ID != a.User.ID {
		t.Errorf("login after enable = %s, want %s", back.User.ID, a.User.ID)
	}
}

// TestDeleteRacingRefresh: refreshes from many goroutines racing the
// deletion leave no live session of the user.
func TestDeleteRacingRefresh(t *testing.T) {
	s := servertest.New(t)
	var toks []api.TokenResponse
	for range 8 {
		toks = append(toks, s.Login(t, "mp", "alice"))
	}
	uid := toks[0].User.ID
	var wg sync.WaitGroup
	for _, tk := range toks {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				refresh(t, s, tk.RefreshToken)
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if r := s.Do(t, "DELETE", "/v1/me", nil, toks[0].AccessToken); r.Status != 204 {
			t.Errorf("DELETE /v1/me = %d %s", r.Status, r.Body)
		}
	}()
	wg.Wait()
	live, err := s.Inst.Sessions.UserSessions(t.Context(), uid, s.Clock.Now())
	if err != nil || len(live) != 0 {
		t.Errorf("live sessions after delete = %d, %v; want none", len(live), err)
	}
	for _, tk := range toks {
		if r := refresh(t, s, tk.RefreshToken); r.Status == 200 {
			t.Errorf("refresh after delete = 200")
		}
	}
}

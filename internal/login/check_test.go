package login

import (
	"errors"
	"net/url"
	"testing"
)

// authorizeCheck starts an account check bound by PKCE and returns the
// state and the verifier.
func (f *fixture) authorizeCheck(t *testing.T) (state, verifier string) {
	t.Helper()
	verifier = randomAlnum(43)
	res, err := f.svc.Authorize(t.Context(), AuthorizeRequest{App: "oa", UserAgent: wechatUA, RedirectURI: "https://app.example.com/cb",
		ReturnTo: "/next", CodeChallenge: hashString(verifier), Check: true})
	if err != nil {
		t.Fatalf("Authorize(check) = %v", err)
	}
	u, err := url.Parse(res.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state"), verifier
}

// login logs code's person in through the H5 flow and returns the user id.
func (f *fixture) login(t *testing.T, code string) string {
	t.Helper()
	state, verifier := f.authorize(t)
	res, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: code, State: state, CodeVerifier: verifier})
	if err != nil {
		t.Fatalf("OAuthLogin(%s) = %v", code, err)
	}
	return res.User.ID
}

// The session's own WeChat identity: same_user, no session, no user, and
// the record ends (a check answers once).
func TestCheckSameUser(t *testing.T) {
	f := newFixture(t)
	alice := f.login(t, "c-alice")
	state, verifier := f.authorizeCheck(t)
	if r := f.record(t, state); !r.Check || r.Scope != "snsapi_base" {
		t.Fatalf("record = %+v, want a snsapi_base check", r)
	}
	req := CheckRequest{OAuthLoginRequest: OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}, UserID: alice}
	res, err := f.svc.CheckAccount(t.Context(), req)
	if err != nil || !res.SameUser || res.Login.Tokens.AccessToken != "" {
		t.Fatalf("CheckAccount = %+v, %v; want same user and no tokens", res, err)
	}
	sessions, err := f.store.UserSessions(t.Context(), alice, f.clock.Now())
	if err != nil || len(sessions) != 1 {
		t.Errorf("alice has %d sessions (%v), want the login's 1", len(sessions), err)
	}
	if r := f.record(t, state); r.Step != stepEnded {
		t.Errorf("record after the check = %s, want ended", r.Step)
	}
	if _, err := f.svc.CheckAccount(t.Context(), req); !errors.Is(err, ErrInvalidState) {
		t.Errorf("the same check again = %v, want ErrInvalidState", err)
	}
}

// Another known person in WeChat: not the same user, and the answer logs
// that person in.
func TestCheckOtherUser(t *testing.T) {
	f := newFixture(t)
	alice := f.login(t, "c-alice")
	bob := f.login(t, "c-bob")
	state, verifier := f.authorizeCheck(t)
	res, err := f.svc.CheckAccount(t.Context(), CheckRequest{OAuthLoginRequest: OAuthLoginRequest{Code: "c-bob", State: state, CodeVerifier: verifier}, UserID: alice})
	if err != nil || res.SameUser {
		t.Fatalf("CheckAccount = %+v, %v; want another user", res, err)
	}
	if res.Login.User.ID != bob || res.Login.IsNew || res.Login.Tokens.AccessToken == "" || res.Login.ReturnTo != "/next" {
		t.Errorf("the check's login = user %s new %v return %q; want bob %s logged in", res.Login.User.ID, res.Login.IsNew, res.Login.ReturnTo, bob)
	}
}

// A person wxauth has never seen: not the same user; without bind_phone
// they become a new user, under bind_phone they get a bind ticket.
func TestCheckUnknownIdentity(t *testing.T) {
	for _, bindPhone := range []bool{false, true} {
		f := newFixture(t, func(c *Config) { c.BindPhone = bindPhone })
		alice := "u-alice" // the session's user: carol is not it either way
		state, verifier := f.authorizeCheck(t)
		res, err := f.svc.CheckAccount(t.Context(), CheckRequest{OAuthLoginRequest: OAuthLoginRequest{Code: "c-carol", State: state, CodeVerifier: verifier}, UserID: alice})
		if err != nil || res.SameUser {
			t.Fatalf("bind_phone=%v: CheckAccount = %+v, %v; want another person", bindPhone, res, err)
		}
		switch {
		case bindPhone && (res.Login.BindTicket == "" || res.Login.Tokens.AccessToken != ""):
			t.Errorf("bind_phone: the check's login = %+v, want a bind ticket only", res.Login)
		case !bindPhone && (!res.Login.IsNew || res.Login.Tokens.AccessToken == ""):
			t.Errorf("the check's login = %+v, want a new user with tokens", res.Login)
		}
	}
}

// A check's state must come back from the browser that started it, before
// it expires, to the check (not the login) and the other way round; a
// refused post leaves the record for its owner.
func TestCheckRefused(t *testing.T) {
	f := newFixture(t)
	alice := f.login(t, "c-alice")

	state, verifier := f.authorizeCheck(t)
	other := CheckRequest{OAuthLoginRequest: OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier + "x"}, UserID: alice}
	if _, err := f.svc.CheckAccount(t.Context(), other); !errors.Is(err, ErrInvalidState) {
		t.Errorf("a check from another browser = %v, want ErrInvalidState", err)
	}
	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("a check's state posted to the login = %v, want ErrInvalidState", err)
	}
	if r := f.record(t, state); r.Step != stepCreated {
		t.Errorf("record after refused posts = %s, want created", r.Step)
	}

	loginState, loginVerifier := f.authorize(t)
	if _, err := f.svc.CheckAccount(t.Context(), CheckRequest{OAuthLoginRequest: OAuthLoginRequest{Code: "c-alice", State: loginState, CodeVerifier: loginVerifier}, UserID: alice}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("a login's state posted to the check = %v, want ErrInvalidState", err)
	}

	f.clock.Advance(stateTTL)
	if _, err := f.svc.CheckAccount(t.Context(), CheckRequest{OAuthLoginRequest: OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}, UserID: alice}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("an expired check = %v, want ErrInvalidState", err)
	}
	if n := f.wc.exchanges.Load(); n != 1 {
		t.Errorf("%d exchanges, want the login's 1", n)
	}
}

// Only an Official Account's snsapi_base inside WeChat is silent.
func TestCheckAuthorizeRefused(t *testing.T) {
	f := newFixture(t)
	for name, req := range map[string]AuthorizeRequest{
		"outside WeChat":  {App: "oa", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"},
		"website app":     {App: "web", UserAgent: wechatUA},
		"snsapi_userinfo": {App: "oa", UserAgent: wechatUA, Scope: "snsapi_userinfo"},
	} {
		req.RedirectURI, req.Check = "https://app.example.com/cb", true
		if _, err := f.svc.Authorize(t.Context(), req); err == nil {
			t.Errorf("%s: Authorize(check) = nil, want an error", name)
		}
	}
}

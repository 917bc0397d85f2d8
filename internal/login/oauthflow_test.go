package login

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/wechat"
)

// created → exchanging → issued, one exchange; the record remembers the
// user for the replay.
func TestFlowLogin(t *testing.T) {
	f := newFixture(t)
	state, verifier := f.authorize(t)
	if r := f.record(t, state); r.Step != stepCreated || r.App != "oa" || r.ReturnTo != "/next" {
		t.Fatalf("record after Authorize = %+v, want created for oa", r)
	}
	res, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier})
	if err != nil {
		t.Fatalf("OAuthLogin = %v", err)
	}
	if !res.IsNew || res.ReturnTo != "/next" || res.App != "oa" || res.Tokens.AccessToken == "" {
		t.Errorf("OAuthLogin = %+v", res)
	}
	r := f.record(t, state)
	if r.Step != stepIssued || r.UserID != res.User.ID || !r.IsNewUser || r.CodeHash != hashString("c-alice") {
		t.Errorf("record after login = %+v, want issued for %s", r, res.User.ID)
	}
	if n := f.wc.exchanges.Load(); n != 1 {
		t.Errorf("%d exchanges, want 1", n)
	}
}

// issued: the same code from the same browser logs the same user in again,
// with a new session and no exchange, until replayTTL has passed.
func TestFlowReplay(t *testing.T) {
	f := newFixture(t)
	state, verifier := f.authorize(t)
	req := OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}
	first, err := f.svc.OAuthLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(replayTTL - time.Second)
	again, err := f.svc.OAuthLogin(t.Context(), req)
	if err != nil {
		t.Fatalf("OAuthLogin again = %v", err)
	}
	if again.User.ID != first.User.ID || !again.IsNew || again.ReturnTo != "/next" || again.Tokens.Session.ID == first.Tokens.Session.ID {
		t.Errorf("replay = user %s new %v return %q sid %s; want the same user, a new session",
			again.User.ID, again.IsNew, again.ReturnTo, again.Tokens.Session.ID)
	}
	if n := f.wc.exchanges.Load(); n != 1 {
		t.Errorf("%d exchanges after the replay, want 1", n)
	}
	// Another code on an issued state is refused.
	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-mallory", State: state, CodeVerifier: verifier}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("another code on an issued state = %v, want ErrInvalidState", err)
	}
	f.clock.Advance(2 * time.Second)
	if _, err := f.svc.OAuthLogin(t.Context(), req); !errors.Is(err, ErrInvalidState) {
		t.Errorf("replay after %v = %v, want ErrInvalidState", replayTTL, err)
	}
}

// A post that does not prove the browser leaves the record as it was, for
// its owner.
func TestFlowOtherBrowser(t *testing.T) {
	f := newFixture(t)
	state, verifier := f.authorize(t)
	for name, req := range map[string]OAuthLoginRequest{
		"no verifier":    {Code: "c-mallory", State: state},
		"wrong verifier": {Code: "c-mallory", State: state, CodeVerifier: verifier + "x"},
		"a cookie":       {Code: "c-mallory", State: state, Cookie: "anything"},
	} {
		if _, err := f.svc.OAuthLogin(t.Context(), req); !errors.Is(err, ErrInvalidState) {
			t.Errorf("%s: OAuthLogin = %v, want ErrInvalidState", name, err)
		}
	}
	if r := f.record(t, state); r.Step != stepCreated {
		t.Fatalf("record after foreign posts = %s, want created", r.Step)
	}
	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}); err != nil {
		t.Errorf("the owner's login = %v", err)
	}
	if n := f.wc.exchanges.Load(); n != 1 {
		t.Errorf("%d exchanges, want 1 (the owner's)", n)
	}
}

// Bound by cookie when the page sent no code_challenge.
func TestFlowCookie(t *testing.T) {
	f := newFixture(t)
	res, err := f.svc.Authorize(t.Context(), AuthorizeRequest{App: "web", RedirectURI: "https://app.example.com/cb"})
	if err != nil || res.Cookie == "" {
		t.Fatalf("Authorize = %+v, %v; want a cookie", res, err)
	}
	u, _ := url.Parse(res.URL)
	state := u.Query().Get("state")
	if r := f.record(t, state); r.Scope != "snsapi_login" || r.CookieHash != hashString(res.Cookie) {
		t.Errorf("record = %+v", r)
	}
	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-bob", State: state, Cookie: res.Cookie + "x"}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("wrong cookie = %v, want ErrInvalidState", err)
	}
	got, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-bob", State: state, Cookie: res.Cookie})
	if err != nil || got.User.Nickname != "N-bob" {
		t.Errorf("OAuthLogin with the cookie = %+v, %v; want bob with his WeChat nickname", got.User, err)
	}
}

// created → ended when WeChat comes back without a code.
func TestFlowDenied(t *testing.T) {
	f := newFixture(t)
	state, verifier := f.authorize(t)
	res, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{State: state, CodeVerifier: verifier})
	if !errors.Is(err, ErrDenied) || res.ReturnTo != "/next" {
		t.Fatalf("OAuthLogin without a code = %+v, %v; want ErrDenied with the return_to", res, err)
	}
	if r := f.record(t, state); r.Step != stepEnded {
		t.Errorf("record = %s, want ended", r.Step)
	}
	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("a code after the denial = %v, want ErrInvalidState", err)
	}
	if n := f.wc.exchanges.Load(); n != 0 {
		t.Errorf("%d exchanges, want 0", n)
	}
}

// A state is good for stateTTL by our clock.
func TestFlowExpired(t *testing.T) {
	f := newFixture(t)
	state, verifier := f.authorize(t)
	f.clock.Advance(stateTTL)
	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("OAuthLogin after %v = %v, want ErrInvalidState", stateTTL, err)
	}
	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice", State: "unknown", CodeVerifier: verifier}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("OAuthLogin(unknown state) = %v, want ErrInvalidState", err)
	}
}

// exchanging → ended when WeChat refuses the code: the error is WeChat's,
// and a second post of that code is not exchanged again.
func TestFlowExchangeFails(t *testing.T) {
	f := newFixture(t)
	f.wc.fail = &wechat.APIError{Endpoint: "/sns/oauth2/access_token", Code: 40029, Msg: "invalid code"}
	state, verifier := f.authorize(t)
	req := OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}
	if _, err := f.svc.OAuthLogin(t.Context(), req); !errors.Is(err, wechat.ErrInvalidCode) {
		t.Fatalf("OAuthLogin = %v, want WeChat's invalid code", err)
	}
	if r := f.record(t, state); r.Step != stepEnded {
		t.Errorf("record = %s, want ended", r.Step)
	}
	if _, err := f.svc.OAuthLogin(t.Context(), req); !errors.Is(err, ErrInvalidState) {
		t.Errorf("the code again = %v, want ErrInvalidState", err)
	}
	if n := f.wc.exchanges.Load(); n != 1 {
		t.Errorf("%d exchanges, want 1", n)
	}
}

// WeChat's duplicate redirect: many posts of the same code by the same
// browser at once make one exchange, and every one of them is logged in as
// the same user, each with its own session.
func TestFlowConcurrentDuplicates(t *testing.T) {
	const n = 20
	f := newFixture(t)
	f.wc.hold, f.wc.started = make(chan struct{}), make(chan struct{}, n)
	state, verifier := f.authorize(t)
	req := OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}

	results := make([]Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = f.svc.OAuthLogin(context.Background(), req) })
	}
	<-f.wc.started // one post claimed the record and is exchanging
	waitFor(t, "the other posts to wait", func() bool { return f.clock.Waiters() == n-1 })
	if r := f.record(t, state); r.Step != stepExchanging {
		t.Fatalf("record while exchanging = %s", r.Step)
	}
	close(f.wc.hold)
	waitFor(t, "the record to be issued", func() bool { return f.record(t, state).Step == stepIssued })
	f.clock.Advance(pollEvery)
	wg.Wait()

	sids := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("post %d = %v", i, errs[i])
			continue
		}
		if results[i].User.ID != results[0].User.ID || !results[i].IsNew {
			t.Errorf("post %d: user %s new %v, want %s new", i, results[i].User.ID, results[i].IsNew, results[0].User.ID)
		}
		sids[results[i].Tokens.Session.ID] = true
	}
	if got := f.wc.exchanges.Load(); got != 1 {
		t.Errorf("%d exchanges for %d duplicate posts, want 1", got, n)
	}
	if len(sids) != n {
		t.Errorf("%d distinct sessions, want %d", len(sids), n)
	}
}

// A duplicate waits for the exchange in flight at most waitLimit, on the
// injected clock; another code never waits.
func TestFlowWaitLimit(t *testing.T) {
	f := newFixture(t)
	f.wc.hold, f.wc.started = make(chan struct{}), make(chan struct{}, 2)
	state, verifier := f.authorize(t)
	req := OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier}
	done := make(chan error, 1)
	go func() { _, err := f.svc.OAuthLogin(context.Background(), req); done <- err }()
	<-f.wc.started

	if _, err := f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-bob", State: state, CodeVerifier: verifier}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("another code while exchanging = %v, want ErrInvalidState", err)
	}
	dup := make(chan error, 1)
	go func() { _, err := f.svc.OAuthLogin(context.Background(), req); dup <- err }()
	for range int(waitLimit / pollEvery) {
		waitFor(t, "the duplicate to wait", func() bool { return f.clock.Waiters() == 1 })
		f.clock.Advance(pollEvery)
	}
	if err := <-dup; !errors.Is(err, ErrInvalidState) {
		t.Errorf("duplicate after waiting %v = %v, want ErrInvalidState", waitLimit, err)
	}
	close(f.wc.hold)
	if err := <-done; err != nil {
		t.Errorf("the first post = %v", err)
	}
}

// Under bind_phone a new person's login ends in a bind ticket, which is
// never replayed.
func TestFlowBindTicketEnds(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BindPhone = true })
	state, verifier := f.authorize(t)
	req := OAuthLoginRequest{Code: "c-carol", State: state, CodeVerifier: verifier}
	res, err := f.svc.OAuthLogin(t.Context(), req)
	if err != nil || res.BindTicket == "" || res.ReturnTo != "/next" {
		t.Fatalf("OAuthLogin = %+v, %v; want a bind ticket", res, err)
	}
	if r := f.record(t, state); r.Step != stepEnded {
		t.Errorf("record = %s, want ended", r.Step)
	}
	if _, err := f.svc.OAuthLogin(t.Context(), req); !errors.Is(err, ErrInvalidState) {
		t.Errorf("the same post again = %v, want ErrInvalidState", err)
	}
}

// No storage error is dropped: each step's failure is the answer.
func TestFlowStorageErrors(t *testing.T) {
	for _, op := range []string{"put", "get", "swap"} {
		t.Run(op, func(t *testing.T) {
			f := newFixture(t)
			state, verifier := "", ""
			if op != "put" {
				state, verifier = f.authorize(t)
			}
			f.svc.cfg.OneTime = failingOneTime{OneTime: f.store, op: op}
			var err error
			if op == "put" {
				_, err = f.svc.Authorize(t.Context(), AuthorizeRequest{App: "oa", UserAgent: wechatUA, RedirectURI: "https://app.example.com/cb", CodeChallenge: hashString("v")})
			} else {
				_, err = f.svc.OAuthLogin(t.Context(), OAuthLoginRequest{Code: "c-alice", State: state, CodeVerifier: verifier})
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("with %s failing: %v, want storage.ErrUnavailable", op, err)
			}
			if n := f.wc.exchanges.Load(); n != 0 {
				t.Errorf("%d exchanges, want 0: nothing is claimed that cannot be recorded", n)
			}
		})
	}
}

// waitFor polls cond on the real clock: the goroutines under test run on
// their own; only their waits are on the fake clock.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

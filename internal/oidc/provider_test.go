package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/internal/storage/redisstore"
	"github.com/wxauth/wxauth/internal/token"
)

var secret = []byte("test-secret-0123456789abcdef0123456789")

// sessionStore is where a provider keeps sessions and one-time records.
type sessionStore interface {
	storage.Sessions
	storage.OneTime
}

// newTestProvider is a provider on memstore with a fixed key and a
// settable clock, and a user u1.
func newTestProvider(t *testing.T) (*Provider, *fakeclock.Clock) {
	t.Helper()
	return newTestProviderOn(t, memstore.New())
}

// newTestProviderOn keeps sessions and one-time records in sessions.
func newTestProviderOn(t *testing.T, sessions sessionStore) (*Provider, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	store := memstore.New()
	key, err := signer.Generate(nil, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := signer.NewSet(key)
	tokens, err := token.New(token.Config{Issuer: "https://id.example.com", Keys: keys, Sessions: sessions, Secret: secret, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	clients, err := NewClients([]Client{
		{ID: "rp", Secret: "rp-secret-0123456789", RedirectURIs: []string{"https://rp.example.com/cb"}},
		{ID: "spa", Public: true, RedirectURIs: []string{"https://spa.example.com/cb"}, Scopes: []string{ScopeProfile}},
		{ID: "pw", Secret: "pw-secret-0123456789", Subject: SubjectPairwise, RedirectURIs: []string{"https://pw.example.com/cb"}},
		{ID: "pw2", Secret: "pw-secret-0123456789", Subject: SubjectPairwise, RedirectURIs: []string{"https://pw.example.com/other"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	box, _ := seal.New(secret, nil)
	if _, err := store.LinkIdentity(context.Background(), storage.LinkRequest{Identity: storage.Identity{AppID: "wx1", OpenID: "o1"},
		NewUser: storage.User{ID: "u1"}, Now: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Issuer: "https://id.example.com", Clients: clients, Tokens: tokens, Keys: keys, Sessions: sessions,
		Users: store, OneTime: sessions, Seal: box, Secret: secret, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p, clock
}

// ParseAuthorize holds each rule of OIDC Core §3.1.2.1 and RFC 6749
// §4.1.2.1: a page for what must not redirect, the protocol's code for
// the rest.
func TestParseAuthorize(t *testing.T) {
	p, _ := newTestProvider(t)
	challenge := strings.Repeat("A", 43)
	base := "client_id=rp&redirect_uri=https%3A%2F%2Frp.example.com%2Fcb&response_type=code&scope=openid&state=s"
	for _, tc := range []struct {
		name, query string
		page        bool
		code        string
	}{
		{"ok", base, false, ""},
		{"unknown client", strings.Replace(base, "client_id=rp", "client_id=x", 1), true, ""},
		{"no client", strings.Replace(base, "client_id=rp&", "", 1), true, ""},
		{"redirect not exact", strings.Replace(base, "%2Fcb", "%2Fcb%2F", 1), true, ""},
		{"redirect with query", strings.Replace(base, "%2Fcb", "%2Fcb%3Fx%3D1", 1), true, ""},
		{"redirect twice", base + "&redirect_uri=https%3A%2F%2Frp.example.com%2Fcb", true, ""},
		{"response_type token", strings.Replace(base, "response_type=code", "response_type=token", 1), false, CodeUnsupportedResponseType},
		{"no openid", strings.Replace(base, "scope=openid", "scope=profile", 1), false, CodeInvalidScope},
		{"state twice", base + "&state=t", false, CodeInvalidRequest},
		{"plain PKCE", base + "&code_challenge=" + challenge + "&code_challenge_method=plain", false, CodeInvalidRequest},
		{"short challenge", base + "&code_challenge=abc&code_challenge_method=S256", false, CodeInvalidRequest},
		{"method alone", base + "&code_challenge_method=S256", false, CodeInvalidRequest},
		{"S256", base + "&code_challenge=" + challenge + "&code_challenge_method=S256", false, ""},
		{"request object", base + "&request=x", false, CodeRequestNotSupported},
		{"request_uri", base + "&request_uri=x", false, CodeRequestURINotSupported},
		{"prompt none+login", base + "&prompt=none+login", false, CodeInvalidRequest},
		{"prompt unknown", base + "&prompt=create", false, CodeInvalidRequest},
		{"max_age negative", base + "&max_age=-5", false, CodeInvalidRequest},
		{"max_age text", base + "&max_age=soon", false, CodeInvalidRequest},
		{"long nonce", base + "&nonce=" + strings.Repeat("n", 257), false, CodeInvalidRequest},
		{"response_mode fragment", base + "&response_mode=fragment", false, CodeInvalidRequest},
		{"public without PKCE", "client_id=spa&redirect_uri=https%3A%2F%2Fspa.example.com%2Fcb&response_type=code&scope=openid", false, CodeInvalidRequest},
		{"public scope not allowed", "client_id=spa&redirect_uri=https%3A%2F%2Fspa.example.com%2Fcb&response_type=code&scope=openid+phone&code_challenge=" + challenge + "&code_challenge_method=S256", false, CodeInvalidScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			_, _, err := p.ParseAuthorize(q)
			var pe *PageError
			var oe *Error
			switch {
			case tc.page && !errors.As(err, &pe):
				t.Errorf("ParseAuthorize(%s) = %v, want an error page", tc.query, err)
			case !tc.page && tc.code == "" && err != nil:
				t.Errorf("ParseAuthorize(%s) = %v, want nil", tc.query, err)
			case tc.code != "" && (!errors.As(err, &oe) || oe.Code != tc.code):
				t.Errorf("ParseAuthorize(%s) = %v, want %s", tc.query, err, tc.code)
			}
		})
	}
	q, _ := url.ParseQuery(strings.Replace(base, "scope=openid", "scope=openid+profile+unknown+profile", 1) + "&prompt=select_account&max_age=0&nonce=n")
	req, _, err := p.ParseAuthorize(q)
	if err != nil || req.Prompt != "login" || req.MaxAge != 0 || req.Nonce != "n" || strings.Join(req.Scopes, " ") != "openid profile" {
		t.Errorf("ParseAuthorize = %+v, %v", req, err)
	}
	e := p.ErrorRedirect(req, &Error{Code: CodeAccessDenied, Description: "no"})
	if !strings.HasPrefix(e, "https://rp.example.com/cb?") || !strings.Contains(e, "state=s") || !strings.Contains(e, "iss=https%3A%2F%2Fid.example.com") {
		t.Errorf("ErrorRedirect = %s", e)
	}
}

// NeedsLogin: no session, prompt=login, or max_age older than auth_time.
func TestNeedsLogin(t *testing.T) {
	p, clock := newTestProvider(t)
	bs := BrowserSession{SID: "s", UserID: "u1", AuthTime: clock.Now().Unix()}
	clock.Advance(100 * time.Second)
	for _, tc := range []struct {
		req  AuthRequest
		ok   bool
		want bool
	}{
		{AuthRequest{MaxAge: -1}, false, true},
		{AuthRequest{MaxAge: -1}, true, false},
		{AuthRequest{MaxAge: -1, Prompt: "login"}, true, true},
		{AuthRequest{MaxAge: 100}, true, false},
		{AuthRequest{MaxAge: 99}, true, true},
		{AuthRequest{MaxAge: -1, Prompt: "none"}, true, false},
	} {
		if got := p.NeedsLogin(tc.req, bs, tc.ok); got != tc.want {
			t.Errorf("NeedsLogin(%+v, ok %v) = %v, want %v", tc.req, tc.ok, got, tc.want)
		}
	}
}

// Client authentication: the secret compared in constant time; a public
// client presents none.
func TestAuthenticate(t *testing.T) {
	p, _ := newTestProvider(t)
	for _, tc := range []struct {
		id, secret string
		ok         bool
	}{
		{"rp", "rp-secret-0123456789", true},
		{"rp", "rp-secret-012345678", false},
		{"rp", "", false},
		{"spa", "", true},
		{"spa", "anything", false},
		{"nobody", "", false},
	} {
		_, err := p.Authenticate(tc.id, tc.secret)
		var oe *Error
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &oe) || oe.Code != CodeInvalidClient)) {
			t.Errorf("Authenticate(%q, %q) = %v, want ok %v", tc.id, tc.secret, err, tc.ok)
		}
	}
}

// Pairwise subjects: per sector (the redirect host), not the user id,
// stable; public clients see the user id.
func TestSubject(t *testing.T) {
	p, _ := newTestProvider(t)
	rp, _ := p.cfg.Clients.Client("rp")
	pw, _ := p.cfg.Clients.Client("pw")
	pw2, _ := p.cfg.Clients.Client("pw2")
	if got := p.subject(rp, "u1"); got != "u1" {
		t.Errorf("public subject = %q", got)
	}
	a, b := p.subject(pw, "u1"), p.subject(pw, "u2")
	if a == "u1" || a == b || a != p.subject(pw2, "u1") || len(a) != 43 {
		t.Errorf("pairwise subjects %q %q (same host: %q)", a, b, p.subject(pw2, "u1"))
	}
}

// NewClients refuses what cannot work, naming the client.
func TestNewClients(t *testing.T) {
	ok := Client{ID: "a", Secret: "0123456789abcdef", RedirectURIs: []string{"https://a.example.com/cb"}}
	for name, edit := range map[string]func(*Client){
		"bad id":          func(c *Client) { c.ID = "A B" },
		"no redirect":     func(c *Client) { c.RedirectURIs = nil },
		"relative":        func(c *Client) { c.RedirectURIs = []string{"/cb"} },
		"fragment":        func(c *Client) { c.RedirectURIs = []string{"https://a.example.com/cb#x"} },
		"short secret":    func(c *Client) { c.Secret = "short" },
		"public + secret": func(c *Client) { c.Public = true },
		"subject":         func(c *Client) { c.Subject = "random" },
		"scope":           func(c *Client) { c.Scopes = []string{"email"} },
		"pairwise hosts": func(c *Client) {
			c.Subject = SubjectPairwise
			c.RedirectURIs = []string{"https://a.example.com/cb", "https://b.example.com/cb"}
		},
	} {
		c := ok
		edit(&c)
		if _, err := NewClients([]Client{c}); err == nil || !strings.Contains(err.Error(), `"`+c.ID+`"`) {
			t.Errorf("%s: NewClients = %v, want an error naming the client", name, err)
		}
	}
	if _, err := NewClients([]Client{ok, ok}); err == nil {
		t.Error("a duplicate id was accepted")
	}
	if _, err := NewClients([]Client{ok}); err != nil {
		t.Error(err)
	}
}

// Exchange: a code is single use among concurrent redemptions, bound to
// its client, redirect_uri and PKCE verifier, and lives 60 s; on the
// in-process store and on Redis (WXAUTH_TEST_REDIS_URL).
func TestExchange(t *testing.T) {
	t.Run("memstore", func(t *testing.T) { testExchange(t, memstore.New()) })
	t.Run("redis", func(t *testing.T) { testExchange(t, openRedis(t)) })
}

// countingSessions counts the sessions opened through it.
type countingSessions struct {
	sessionStore
	mu     sync.Mutex
	opened int
}

func (c *countingSessions) CreateSession(ctx context.Context, s storage.Session, q ...storage.Quota) error {
	c.mu.Lock()
	c.opened++
	c.mu.Unlock()
	return c.sessionStore.CreateSession(ctx, s, q...)
}

func (c *countingSessions) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened
}

func testExchange(t *testing.T, base sessionStore) {
	store := &countingSessions{sessionStore: base}
	p, clock := newTestProviderOn(t, store)
	ctx := t.Context()
	rp, _ := p.cfg.Clients.Client("rp")
	pw, _ := p.cfg.Clients.Client("pw")
	issue := func(challenge string) string {
		t.Helper()
		req := AuthRequest{ClientID: "rp", RedirectURI: "https://rp.example.com/cb", Scopes: []string{ScopeOpenID}, Challenge: challenge, MaxAge: -1}
		to, err := p.IssueCode(ctx, req, BrowserSession{SID: "b1", UserID: "u1", AuthTime: clock.Now().Unix()})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(to)
		return u.Query().Get("code")
	}
	grantErr := func(err error) bool {
		var oe *Error
		return errors.As(err, &oe) && oe.Code == CodeInvalidGrant
	}
	// verifier "v…" and its S256 challenge (RFC 7636 appendix B).
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	code := issue(challenge)
	for name, req := range map[string]ExchangeRequest{
		"wrong verifier": {Code: code, RedirectURI: "https://rp.example.com/cb", CodeVerifier: verifier + "x"},
		"no verifier":    {Code: code, RedirectURI: "https://rp.example.com/cb"},
		"other redirect": {Code: code, RedirectURI: "https://rp.example.com/cb2", CodeVerifier: verifier},
		"unknown code":   {Code: "nope", RedirectURI: "https://rp.example.com/cb", CodeVerifier: verifier},
	} {
		if _, err := p.Exchange(ctx, rp, req); !grantErr(err) {
			t.Errorf("%s: Exchange = %v, want invalid_grant", name, err)
		}
	}
	if _, err := p.Exchange(ctx, pw, ExchangeRequest{Code: code, RedirectURI: "https://rp.example.com/cb", CodeVerifier: verifier}); !grantErr(err) {
		t.Errorf("another client: %v, want invalid_grant", err)
	}
	good := ExchangeRequest{Code: code, RedirectURI: "https://rp.example.com/cb", CodeVerifier: verifier}
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, refused := 0, 0
	var won TokenResponse
	for range n {
		wg.Go(func() {
			res, err := p.Exchange(ctx, rp, good)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
				won = res
			case grantErr(err):
				refused++
			default:
				t.Errorf("Exchange: %v", err)
			}
		})
	}
	wg.Wait()
	if wins > 1 || wins+refused != n {
		t.Fatalf("%d wins, %d refused of %d", wins, refused, n)
	}
	// Exactly one redemption claimed the code and opened a session (which
	// the reuses then revoked, unless it finished first and none came
	// after).
	if got := store.count(); got != 1 {
		t.Errorf("%d sessions opened for one code, want exactly 1", got)
	}
	if wins == 1 {
		if _, err := p.Refresh(ctx, rp, RefreshRequest{RefreshToken: won.RefreshToken}); !grantErr(err) {
			t.Errorf("the winner's refresh token after reuses: %v, want invalid_grant (revoked)", err)
		}
	}
	// One redemption alone wins; its reuse revokes.
	code = issue("")
	res, err := p.Exchange(ctx, rp, ExchangeRequest{Code: code, RedirectURI: "https://rp.example.com/cb"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exchange(ctx, rp, ExchangeRequest{Code: code, RedirectURI: "https://rp.example.com/cb"}); !grantErr(err) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := p.UserInfo(ctx, res.AccessToken); err == nil {
		t.Error("userinfo with the reused code's access token succeeded")
	}
	// A verifier for a code issued without a challenge is refused.
	code = issue("")
	if _, err := p.Exchange(ctx, rp, ExchangeRequest{Code: code, RedirectURI: "https://rp.example.com/cb", CodeVerifier: verifier}); !grantErr(err) {
		t.Errorf("verifier without challenge: %v", err)
	}
	// 60 s.
	code = issue("")
	clock.Advance(codeTTL)
	if _, err := p.Exchange(ctx, rp, ExchangeRequest{Code: code, RedirectURI: "https://rp.example.com/cb"}); !grantErr(err) {
		t.Errorf("expired code: %v", err)
	}
}

// The browser cookie is sealed and honoured only while its session lives.
func TestBrowserSession(t *testing.T) {
	p, clock := newTestProvider(t)
	ctx := t.Context()
	pair, err := p.cfg.Tokens.Open(ctx, token.OpenRequest{UserID: "u1", App: "web"})
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := p.NewBrowser(pair.Session.ID, "u1", pair.Session.ExpiresAt)
	v, err := p.SealBrowser(bs)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := p.OpenBrowser(ctx, v); !ok || err != nil || got != bs {
		t.Fatalf("OpenBrowser = %+v %v %v", got, ok, err)
	}
	for _, bad := range []string{"", "x", v[:len(v)-2] + "AA", strings.Repeat("A", 2000)} {
		if _, ok, _ := p.OpenBrowser(ctx, bad); ok {
			t.Errorf("OpenBrowser(%.20q) accepted", bad)
		}
	}
	clock.Advance(time.Second)
	if err := p.EndSession(ctx, pair.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.OpenBrowser(ctx, v); ok {
		t.Error("the cookie of an ended session was honoured")
	}
}

// openRedis is a redisstore under a key prefix of its own, whose keys are
// deleted when the test ends; skipped without WXAUTH_TEST_REDIS_URL.
func openRedis(t *testing.T) *redisstore.Store {
	t.Helper()
	u := os.Getenv("WXAUTH_TEST_REDIS_URL")
	if u == "" {
		t.Skip("set WXAUTH_TEST_REDIS_URL to run on Redis")
	}
	prefix := fmt.Sprintf("wxauthtest:oidc:%d-%d:", os.Getpid(), time.Now().UnixNano())
	s, err := redisstore.Open(t.Context(), redisstore.Config{URL: u, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if ttl := c.PTTL(ctx, iter.Val()).Val(); ttl == -1 {
				t.Errorf("key %q has no expiry", iter.Val())
			}
			c.Del(ctx, iter.Val())
		}
		s.Close()
	})
	return s
}

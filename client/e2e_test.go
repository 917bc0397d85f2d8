package client_test

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/client"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// These tests run the client against the whole stack over HTTP and count
// what the server saw through its own /metrics.

const (
	refreshOK   = `wxauth_http_requests_total{route="POST /v1/token/refresh",status="200"}`
	refresh401  = `wxauth_http_requests_total{route="POST /v1/token/refresh",status="401"}`
	me200       = `wxauth_http_requests_total{route="GET /v1/me",status="200"}`
	me401       = `wxauth_http_requests_total{route="GET /v1/me",status="401"}`
	concurrency = 50
)

// metrics reads the server's counters: series → value.
func metrics(t *testing.T, s *servertest.Server) map[string]float64 {
	t.Helper()
	r := s.Do(t, "GET", "/metrics", nil, "")
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

// delta is how much each series grew between two readings.
func delta(before, after map[string]float64, series string) int {
	return int(after[series] - before[series])
}

// newClient is a client for s holding a fresh login of alice. now nil: the
// stack's clock.
func newClient(t *testing.T, s *servertest.Server, now func() time.Time, edit ...func(*client.Config)) (*client.Client, api.TokenResponse) {
	t.Helper()
	if now == nil {
		now = s.Clock.Now
	}
	cfg := client.Config{BaseURL: s.URL, HTTPClient: s.HTTP, Now: now}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := s.Login(t, "mp", "alice")
	if err := c.SetToken(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	return c, l
}

// getAll sends n GETs of path at once through the client's transport and
// returns their statuses (0 and the error for a failed request).
func getAll(t *testing.T, s *servertest.Server, c *client.Client, path string, n int) ([]int, []error) {
	t.Helper()
	hc := &http.Client{Transport: c.Transport(s.HTTP.Transport)}
	statuses, errs := make([]int, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			req, err := http.NewRequestWithContext(t.Context(), "GET", s.URL+path, nil)
			if err != nil {
				errs[i] = err
				return
			}
			resp, err := hc.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	return statuses, errs
}

func TestRefreshStorm(t *testing.T) {
	for _, tc := range []struct {
		name string
		// clientClock: whether the client shares the server's clock (so it
		// sees the expiry and refreshes before sending) or keeps its own,
		// which has not moved (so every request meets 401 token_expired).
		clientClock bool
	}{
		{"client sees expiry", true},
		{"server says token_expired", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := servertest.New(t)
			var now func() time.Time
			if !tc.clientClock {
				now = func() time.Time { return servertest.Start }
			}
			c, l := newClient(t, s, now)
			s.Clock.Advance(s.Config.Tokens.AccessTTL.D() + time.Second)
			before := metrics(t, s)
			statuses, errs := getAll(t, s, c, "/v1/me", concurrency)
			after := metrics(t, s)
			for i := range concurrency {
				if errs[i] != nil || statuses[i] != 200 {
					t.Errorf("request %d = %d, %v; want 200", i, statuses[i], errs[i])
				}
			}
			refreshes := delta(before, after, refreshOK)
			t.Logf("%d requests: %d refresh(es), %d answered 401 token_expired first", concurrency, refreshes, delta(before, after, me401))
			if refreshes != 1 {
				t.Errorf("refreshes = %d, want exactly 1", refreshes)
			}
			if got := delta(before, after, me200); got != concurrency {
				t.Errorf("GET /v1/me 200s = %d, want %d", got, concurrency)
			}
			expired := delta(before, after, me401)
			if tc.clientClock && expired != 0 {
				t.Errorf("GET /v1/me 401s = %d, want 0 (the client knew the token had expired)", expired)
			}
			if !tc.clientClock && (expired < 1 || expired > concurrency) {
				t.Errorf("GET /v1/me 401s = %d, want 1..%d", expired, concurrency)
			}
			tok, err := c.TokenSource().Token(t.Context())
			if err != nil || tok.AccessToken == l.AccessToken || tok.RefreshToken == l.RefreshToken || tok.SessionID != l.SessionID {
				t.Errorf("Token after the storm = %+v, %v; want new tokens of session %s", tok, err, l.SessionID)
			}
		})
	}
}

func TestRevokedSession(t *testing.T) {
	t.Run("401 session_revoked", func(t *testing.T) {
		s := servertest.New(t)
		c, l := newClient(t, s, nil)
		if r := s.Do(t, "POST", "/v1/logout", "{}", l.AccessToken); r.Status != 204 {
			t.Fatalf("logout = %d %s", r.Status, r.Body)
		}
		before := metrics(t, s)
		_, err := c.Me(t.Context())
		if !errors.Is(err, client.ErrLoginRequired) {
			t.Fatalf("Me = %v, want ErrLoginRequired", err)
		}
		var e *api.Error
		if !errors.As(err, &e) || e.Code != api.CodeSessionRevoked || e.Status != 401 {
			t.Errorf("Me = %v, want to wrap the 401 session_revoked", err)
		}
		// The tokens are gone: nothing more is sent.
		if _, err := c.Me(t.Context()); !errors.Is(err, client.ErrLoginRequired) {
			t.Errorf("Me again = %v, want ErrLoginRequired", err)
		}
		if _, err := c.TokenSource().Token(t.Context()); !errors.Is(err, client.ErrLoginRequired) {
			t.Errorf("Token = %v, want ErrLoginRequired", err)
		}
		after := metrics(t, s)
		if got := delta(before, after, me401); got != 1 {
			t.Errorf("GET /v1/me 401s = %d, want 1", got)
		}
		if got := delta(before, after, refreshOK) + delta(before, after, refresh401); got != 0 {
			t.Errorf("refreshes = %d, want 0", got)
		}
	})
	t.Run("refresh answers invalid_grant", func(t *testing.T) {
		s := servertest.New(t)
		c, l := newClient(t, s, nil)
		if r := s.Do(t, "POST", "/v1/logout", "{}", l.AccessToken); r.Status != 204 {
			t.Fatalf("logout = %d %s", r.Status, r.Body)
		}
		s.Clock.Advance(s.Config.Tokens.AccessTTL.D() + time.Second)
		before := metrics(t, s)
		statuses, errs := getAll(t, s, c, "/v1/me", concurrency)
		after := metrics(t, s)
		for i := range concurrency {
			if !errors.Is(errs[i], client.ErrLoginRequired) {
				t.Errorf("request %d = %d, %v; want ErrLoginRequired", i, statuses[i], errs[i])
			}
		}
		// The callers that shared the refresh see the server's refusal; any
		// that came after it see that there are no tokens left.
		refused := 0
		for _, err := range errs {
			var e *api.Error
			if errors.As(err, &e) && e.Code == api.CodeInvalidGrant && e.Status == 401 {
				refused++
			}
		}
		if refused == 0 {
			t.Errorf("no request wraps the 401 invalid_grant: %v", errs[0])
		}
		refreshes := delta(before, after, refresh401)
		t.Logf("%d requests: %d refresh(es) answered invalid_grant", concurrency, refreshes)
		if refreshes != 1 || delta(before, after, refreshOK) != 0 {
			t.Errorf("refreshes = %d refused + %d ok, want 1 refused", refreshes, delta(before, after, refreshOK))
		}
		if got := delta(before, after, me200) + delta(before, after, me401); got != 0 {
			t.Errorf("GET /v1/me sent %d times, want 0", got)
		}
	})
}

// The token goes only to the configured origins, also across redirects, and
// the caller's request is left as it was.
func TestTokenStaysHome(t *testing.T) {
	s := servertest.New(t)
	type seen struct{ server, path, auth string }
	var mu sync.Mutex
	var log []seen
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			log = append(log, seen{name, r.URL.Path, r.Header.Get("Authorization")})
			mu.Unlock()
		}
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	apiMux := http.NewServeMux()
	apiMux.HandleFunc("/", record("api"))
	apiMux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		record("api")(w, r)
		http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
	})
	apiSrv := httptest.NewServer(apiMux)
	defer apiSrv.Close()

	c, l := newClient(t, s, nil, func(cfg *client.Config) { cfg.APIOrigins = []string{apiSrv.URL + "/"} })
	hc := &http.Client{Transport: c.Transport(nil)}
	for _, u := range []string{other.URL + "/direct", apiSrv.URL + "/data", apiSrv.URL + "/away"} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		if h := req.Header.Get("Authorization"); h != "" {
			t.Errorf("the caller's request to %s was changed: Authorization %q", u, h)
		}
	}
	bearer := "Bearer " + l.AccessToken
	want := []seen{
		{"other", "/direct", ""},
		{"api", "/data", bearer},
		{"api", "/away", bearer},
		{"other", "/landed", ""},
	}
	if len(log) != len(want) {
		t.Fatalf("requests seen = %q, want %q", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Errorf("request %d = %q, want %q", i, log[i], want[i])
		}
	}
}

func TestProactiveRefresh(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ttl           time.Duration
		refreshBefore time.Duration
		window        time.Duration // how long before expiry it refreshes
	}{
		{"default lifetime: 60 s", 2 * time.Hour, 0, time.Minute},
		{"short lifetime: a tenth", 5 * time.Minute, 0, 30 * time.Second},
		{"configured", 2 * time.Hour, 10 * time.Minute, 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := servertest.New(t, servertest.Configure(func(c *config.Config) { c.Tokens.AccessTTL = config.Duration(tc.ttl) }))
			c, l := newClient(t, s, nil, func(cfg *client.Config) { cfg.RefreshBefore = tc.refreshBefore })
			ts := c.TokenSource()

			s.Clock.Advance(tc.ttl - tc.window - time.Second)
			before := metrics(t, s)
			tok, err := ts.Token(t.Context())
			if err != nil || tok.AccessToken != l.AccessToken {
				t.Errorf("Token %v before expiry = %v; want the login's token", tc.window+time.Second, err)
			}
			if got := delta(before, metrics(t, s), refreshOK); got != 0 {
				t.Errorf("refreshes %v before expiry = %d, want 0", tc.window+time.Second, got)
			}

			s.Clock.Advance(2 * time.Second)
			before = metrics(t, s)
			tok, err = ts.Token(t.Context())
			if err != nil || tok.AccessToken == l.AccessToken || tok.RefreshToken == l.RefreshToken {
				t.Errorf("Token %v before expiry = %+v, %v; want a refreshed token", tc.window-time.Second, tok, err)
			}
			if want := s.Clock.Now().Add(tc.ttl); !tok.Expiry.Equal(want) {
				t.Errorf("Expiry = %v, want %v", tok.Expiry, want)
			}
			if got := delta(before, metrics(t, s), refreshOK); got != 1 {
				t.Errorf("refreshes %v before expiry = %d, want 1", tc.window-time.Second, got)
			}
		})
	}
}

// Two clients holding the same refresh token (two processes restored from
// one store) refresh at once: both succeed with the same successor, thanks
// to the server's grace window, and the session lives on.
func TestGraceReplay(t *testing.T) {
	s := servertest.New(t)
	c1, l := newClient(t, s, nil)
	c2, err := client.New(client.Config{BaseURL: s.URL, HTTPClient: s.HTTP, Now: s.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.SetToken(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	before := metrics(t, s)
	var toks [2]client.Token
	var errs [2]error
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range []*client.Client{c1, c2} {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = c.Refresh(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i].RefreshToken == "" || toks[i].RefreshToken == l.RefreshToken {
			t.Fatalf("client %d: Refresh = %+v, %v; want a new refresh token", i+1, toks[i], errs[i])
		}
	}
	if toks[0].RefreshToken != toks[1].RefreshToken {
		t.Errorf("successors differ: %q and %q", toks[0].RefreshToken, toks[1].RefreshToken)
	}
	if got := delta(before, metrics(t, s), refreshOK); got != 2 {
		t.Errorf("refreshes answered 200 = %d, want 2", got)
	}
	for i, c := range []*client.Client{c1, c2} {
		if me, err := c.Me(t.Context()); err != nil || me.ID != l.User.ID {
			t.Errorf("client %d: Me = %+v, %v; want user %s", i+1, me, err, l.User.ID)
		}
	}
	// The session has exactly one live refresh token: the successor.
	if _, err := c1.Refresh(t.Context()); err != nil {
		t.Errorf("Refresh after the replay = %v", err)
	}
}

func TestClientCalls(t *testing.T) {
	s := servertest.New(t)
	c, err := client.New(client.Config{BaseURL: s.URL + "/", HTTPClient: s.HTTP, Now: s.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.Me(ctx); !errors.Is(err, client.ErrLoginRequired) {
		t.Errorf("Me before login = %v, want ErrLoginRequired", err)
	}
	_, err = c.LoginMiniProgram(ctx, "mp", "not-a-code", "")
	var e *api.Error
	if !errors.As(err, &e) || e.Code != api.CodeInvalidCode || e.Status != 400 {
		t.Errorf("LoginMiniProgram(bad code) = %v, want 400 invalid_code", err)
	}
	tr, err := c.LoginMiniProgram(ctx, "mp", s.Code(t, "mp", "bob"), "")
	if err != nil || tr.User == nil || !tr.IsNewUser {
		t.Fatalf("LoginMiniProgram = user %+v, %v; want a new user", tr.User, err)
	}
	me, err := c.Me(ctx)
	if err != nil || me.ID != tr.User.ID {
		t.Errorf("Me = %+v, %v; want user %s", me, err, tr.User.ID)
	}
	other := s.Login(t, "mp", "bob")
	sessions, err := c.Sessions(ctx)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("Sessions = %+v, %v; want 2", sessions, err)
	}
	for _, se := range sessions {
		if se.Current != (se.ID == tr.SessionID) {
			t.Errorf("session %s: Current = %v", se.ID, se.Current)
		}
	}
	if err := c.RevokeSession(ctx, other.SessionID); err != nil {
		t.Errorf("RevokeSession = %v", err)
	}
	if err := c.RevokeSession(ctx, "nope"); !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("RevokeSession(unknown) = %v, want 404", err)
	}
	if err := c.Logout(ctx, false); err != nil {
		t.Errorf("Logout = %v", err)
	}
	if r := s.Do(t, "POST", "/v1/token/refresh", api.RefreshRequest{RefreshToken: tr.RefreshToken}, ""); r.Status != 401 {
		t.Errorf("refresh after Logout = %d, want 401", r.Status)
	}
	if err := c.Logout(ctx, false); err != nil {
		t.Errorf("Logout when logged out = %v, want nil", err)
	}
	if _, err := c.Refresh(ctx); !errors.Is(err, client.ErrLoginRequired) {
		t.Errorf("Refresh after Logout = %v, want ErrLoginRequired", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		cfg   client.Config
		field string
	}{
		{client.Config{}, "BaseURL"},
		{client.Config{BaseURL: "auth.example.com"}, "BaseURL"},
		{client.Config{BaseURL: "ftp://auth.example.com"}, "BaseURL"},
		{client.Config{BaseURL: "https://auth.example.com", APIOrigins: []string{"https://ok.example.com", "/api"}}, "APIOrigins[1]"},
		{client.Config{BaseURL: "https://auth.example.com", RefreshBefore: -time.Second}, "RefreshBefore"},
	} {
		_, err := client.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
	if _, err := client.New(client.Config{BaseURL: "https://auth.example.com/prefix/"}); err != nil {
		t.Errorf("New(with a path) = %v", err)
	}
}

// tamper spoils a JWT's signature, as a token signed by a key the server no
// longer has would look to it.
func tamper(jwt string) string {
	i := strings.LastIndexByte(jwt, '.')
	sig := []byte(jwt[i+1:])
	sig[0] ^= 'A' ^ 'B' // a letter still, another signature
	if sig[0] < 'A' {
		sig[0] = 'A'
	}
	return jwt[:i+1] + string(sig)
}

// An access token the server cannot verify (401 invalid_token) is refreshed
// once and the request retried; if the refresh is refused, the session is
// over (ErrLoginRequired). The JavaScript SDK's tests (sdk/js) hold it to
// the same rule.
func TestInvalidToken(t *testing.T) {
	t.Run("refresh works", func(t *testing.T) {
		s := servertest.New(t)
		c, l := newClient(t, s, nil)
		bad := l
		bad.AccessToken = tamper(l.AccessToken)
		if err := c.SetToken(t.Context(), bad); err != nil {
			t.Fatal(err)
		}
		before := metrics(t, s)
		me, err := c.Me(t.Context())
		if err != nil || me.ID != l.User.ID {
			t.Fatalf("Me = %+v, %v; want user %s", me, err, l.User.ID)
		}
		after := metrics(t, s)
		if got := delta(before, after, me401); got != 1 {
			t.Errorf("GET /v1/me 401s = %d, want 1", got)
		}
		if got := delta(before, after, refreshOK); got != 1 {
			t.Errorf("refreshes = %d, want 1", got)
		}
		if got := delta(before, after, me200); got != 1 {
			t.Errorf("GET /v1/me 200s = %d, want 1", got)
		}
	})
	t.Run("refresh refused", func(t *testing.T) {
		s := servertest.New(t)
		c, l := newClient(t, s, nil)
		if r := s.Do(t, "POST", "/v1/logout", "{}", l.AccessToken); r.Status != 204 {
			t.Fatalf("logout = %d %s", r.Status, r.Body)
		}
		bad := l
		bad.AccessToken = tamper(l.AccessToken)
		if err := c.SetToken(t.Context(), bad); err != nil {
			t.Fatal(err)
		}
		before := metrics(t, s)
		_, err := c.Me(t.Context())
		var e *api.Error
		if !errors.Is(err, client.ErrLoginRequired) || !errors.As(err, &e) || e.Code != api.CodeInvalidGrant {
			t.Errorf("Me = %v, want ErrLoginRequired wrapping invalid_grant", err)
		}
		after := metrics(t, s)
		if got := delta(before, after, me401); got != 1 {
			t.Errorf("GET /v1/me 401s = %d, want 1", got)
		}
		if got := delta(before, after, refresh401); got != 1 {
			t.Errorf("refused refreshes = %d, want 1", got)
		}
		if _, err := c.TokenSource().Token(t.Context()); !errors.Is(err, client.ErrLoginRequired) {
			t.Errorf("Token = %v, want ErrLoginRequired (tokens forgotten)", err)
		}
	})
}

// LoginApp posts a SendAuth code to POST /v1/app/login and keeps the
// tokens; the unionid makes it the mini program's user; a used code is
// WeChat's 40029/40163 as 400 invalid_code; bind_phone is a
// BindRequiredError.
func TestClientLoginApp(t *testing.T) {
	s := servertest.New(t)
	c, err := client.New(client.Config{BaseURL: s.URL + "/", HTTPClient: s.HTTP, Now: s.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mp := s.Login(t, "mp", "alice")
	code, err := s.Sandbox.IssueAppCode(s.AppID(t, "app"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.LoginApp(ctx, "app", code, "")
	if err != nil || tr.User == nil || tr.User.ID != mp.User.ID {
		t.Fatalf("LoginApp = %+v, %v; want alice's mini program user %s", tr.User, err, mp.User.ID)
	}
	if me, err := c.Me(ctx); err != nil || me.ID != mp.User.ID {
		t.Errorf("Me after LoginApp = %+v, %v", me, err)
	}
	var e *api.Error
	if _, err := c.LoginApp(ctx, "app", code, ""); !errors.As(err, &e) || e.Code != api.CodeInvalidCode || e.WeChatErrcode == nil || *e.WeChatErrcode != 40163 {
		t.Errorf("LoginApp(used code) = %v, want 400 invalid_code (40163)", err)
	}

	b := servertest.New(t, servertest.Configure(func(c *config.Config) { c.Registration = config.RegistrationBindPhone }))
	bc, err := client.New(client.Config{BaseURL: b.URL + "/", HTTPClient: b.HTTP, Now: b.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	code, err = b.Sandbox.IssueAppCode(b.AppID(t, "app"), "bob")
	if err != nil {
		t.Fatal(err)
	}
	var bind *client.BindRequiredError
	if _, err := bc.LoginApp(ctx, "", code, ""); !errors.As(err, &bind) || bind.BindTicket == "" {
		t.Errorf("LoginApp under bind_phone = %v, want a BindRequiredError with a ticket", err)
	}
}

func TestDeleteAccount(t *testing.T) {
	s := servertest.New(t)
	c, err := client.New(client.Config{BaseURL: s.URL + "/", HTTPClient: s.HTTP, Now: s.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tr, err := c.LoginMiniProgram(ctx, "mp", s.Code(t, "mp", "bob"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Past account.delete_recent_login: refused, the tokens kept.
	s.Clock.Advance(11 * time.Minute)
	var e *api.Error
	if err := c.DeleteAccount(ctx); !errors.As(err, &e) || e.Code != api.CodeReauthenticationRequired || e.Status != 403 {
		t.Fatalf("DeleteAccount(old login) = %v, want 403 reauthentication_required", err)
	}
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("Me after refused delete = %v, want the session kept", err)
	}
	if _, err := c.LoginMiniProgram(ctx, "mp", s.Code(t, "mp", "bob"), ""); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAccount(ctx); err != nil {
		t.Fatalf("DeleteAccount = %v", err)
	}
	if _, err := c.Me(ctx); !errors.Is(err, client.ErrLoginRequired) {
		t.Errorf("Me after DeleteAccount = %v, want ErrLoginRequired", err)
	}
	again, err := c.LoginMiniProgram(ctx, "mp", s.Code(t, "mp", "bob"), "")
	if err != nil || again.User == nil || again.User.ID == tr.User.ID || !again.IsNewUser {
		t.Errorf("login after DeleteAccount = %+v, %v; want a new user", again.User, err)
	}
}

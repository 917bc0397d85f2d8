package prodtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
)

// Two `wxauth serve` processes on one PostgreSQL and one Redis act as one
// service (issue: several instances).
func TestTwoInstancesActAsOne(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL, "tokens: {reuse_grace: 3s}")
	a, b := d.start(t), d.start(t)
	ctx := t.Context()

	t.Run("a session opened on A refreshes on B", func(t *testing.T) {
		l := d.login(t, a, "alice")
		r, tr := d.refresh(ctx, b, l.RefreshToken)
		if r.Status != 200 || tr.SessionID != l.SessionID {
			t.Fatalf("refresh on B = %d %s", r.Status, r.Body)
		}
		if r := d.do(ctx, "GET", a.URL+"/v1/me", "", tr.AccessToken); r.Status != 200 {
			t.Errorf("B's access token on A = %d %s", r.Status, r.Body)
		}
	})

	t.Run("logout on A is refused on B at the next request", func(t *testing.T) {
		l := d.login(t, a, "bob")
		if r := d.do(ctx, "GET", b.URL+"/v1/me", "", l.AccessToken); r.Status != 200 {
			t.Fatalf("GET /v1/me on B = %d", r.Status)
		}
		if r := d.do(ctx, "POST", a.URL+"/v1/logout", "{}", l.AccessToken); r.Status != 204 {
			t.Fatalf("logout on A = %d %s", r.Status, r.Body)
		}
		if r := d.do(ctx, "GET", b.URL+"/v1/me", "", l.AccessToken); r.Status != 401 || r.errorCode() != api.CodeSessionRevoked {
			t.Errorf("GET /v1/me on B after logout on A = %d %s, want 401 session_revoked", r.Status, r.Body)
		}
		if r, _ := d.refresh(ctx, b, l.RefreshToken); r.Status != 401 || r.errorCode() != api.CodeInvalidGrant {
			t.Errorf("refresh on B after logout on A = %d %s, want 401 invalid_grant", r.Status, r.Body)
		}
	})

	t.Run("a refresh storm split across A and B keeps one chain", func(t *testing.T) {
		l := d.login(t, a, "alice")
		const n = 50
		var wg sync.WaitGroup
		start := make(chan struct{})
		answers := make([]response, n)
		tokens := make([]string, n)
		for i := range n {
			in := a
			if i%2 == 1 {
				in = b
			}
			wg.Go(func() {
				<-start
				r, tr := d.refresh(ctx, in, l.RefreshToken)
				answers[i], tokens[i] = r, tr.RefreshToken
			})
		}
		close(start)
		wg.Wait()
		for i, r := range answers {
			if r.Status != 200 {
				t.Fatalf("refresh %d = %d %s", i, r.Status, r.Body)
			}
			if tokens[i] != tokens[0] {
				t.Fatalf("refresh %d answered another successor: the session forked", i)
			}
		}
		// The one successor works on both; the rotated token, replayed after
		// the grace window, ends the session on both.
		r, next := d.refresh(ctx, b, tokens[0])
		if r.Status != 200 {
			t.Fatalf("successor on B = %d %s", r.Status, r.Body)
		}
		deadline := time.Now().Add(3100 * time.Millisecond)
		for time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond) // waiting out the 3 s grace window, not synchronising
		}
		if r, _ := d.refresh(ctx, a, tokens[0]); r.Status != 401 || r.errorCode() != api.CodeRefreshTokenReused {
			t.Errorf("replay after the grace window on A = %d %s, want refresh_token_reused", r.Status, r.Body)
		}
		if r := d.do(ctx, "GET", b.URL+"/v1/me", "", next.AccessToken); r.Status != 401 || r.errorCode() != api.CodeSessionRevoked {
			t.Errorf("after reuse, B answers %d %s, want session_revoked", r.Status, r.Body)
		}
	})

	t.Run("introspection on either instance", func(t *testing.T) {
		l := d.login(t, b, "alice")
		for _, in := range []*instance{a, b} {
			r := d.do(ctx, "POST", in.URL+"/v1/introspect", `{"token":"`+l.AccessToken+`"}`, "prodtest-service-key-0123")
			var m map[string]any
			json.Unmarshal(r.Body, &m)
			if r.Status != 200 || m["active"] != true || m["sid"] != l.SessionID {
				t.Errorf("introspect on %s = %d %s", in.URL, r.Status, r.Body)
			}
		}
	})
}

// `wxauth keys rotate` adds a key that every instance verifies before any
// signs with it; tokens signed with the old key keep working.
func TestKeyRotationAcrossInstances(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL, "key_reload: 200ms")
	a, b := d.start(t), d.start(t)
	ctx := t.Context()
	before := d.login(t, a, "alice")
	oldKid := kid(t, before.AccessToken)

	rotate := exec.Command(wxauthBinary(t), "keys", "rotate", "--config", d.cfgPath)
	rotate.Env = d.env
	out, err := rotate.CombinedOutput()
	if err != nil {
		t.Fatalf("wxauth keys rotate: %v\n%s", err, out)
	}
	// Within two reloads both instances sign with the new key.
	deadline := time.Now().Add(10 * time.Second)
	var newKid string
	for time.Now().Before(deadline) {
		ka := kid(t, d.login(t, a, "bob").AccessToken)
		kb := kid(t, d.login(t, b, "bob").AccessToken)
		if ka != oldKid && ka == kb {
			newKid = ka
			break
		}
		time.Sleep(100 * time.Millisecond) // polling the reload, bounded by the deadline
	}
	if newKid == "" {
		t.Fatalf("instances did not switch to the new key within 10 s")
	}
	for _, in := range []*instance{a, b} {
		if r := d.do(ctx, "GET", in.URL+"/v1/me", "", before.AccessToken); r.Status != 200 {
			t.Errorf("a token of the old key on %s = %d %s; rotation logged the user out", in.URL, r.Status, r.Body)
		}
		jwks := string(d.do(ctx, "GET", in.URL+"/.well-known/jwks.json", "", "").Body)
		if !strings.Contains(jwks, oldKid) || !strings.Contains(jwks, newKid) {
			t.Errorf("JWKS of %s lacks a key: %s", in.URL, jwks)
		}
	}
}

// kid reads the key id of a JWT's header.
func kid(t *testing.T, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	b, err := base64URL(h)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var hdr struct{ Kid string }
	json.Unmarshal(b, &hdr)
	return hdr.Kid
}

// Hundreds of callers of /v1/wechat/access_token split across two instances
// cause one fetch from WeChat: the token and its fetch lock live in Redis.
func TestAppTokenOneFetchAcrossInstances(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL)
	a, b := d.start(t), d.start(t)
	ctx := t.Context()
	const n = 300
	var wg sync.WaitGroup
	start := make(chan struct{})
	tokens := make([]string, n)
	answers := make([]response, n)
	var mu sync.Mutex
	var slowest time.Duration
	for i := range n {
		in := []*instance{a, b}[i%2]
		wg.Go(func() {
			<-start
			t0 := time.Now()
			r := d.do(ctx, "GET", in.URL+"/v1/wechat/access_token?app=mp", "", "prodtest-service-key-0123")
			mu.Lock()
			slowest = max(slowest, time.Since(t0))
			mu.Unlock()
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			json.Unmarshal(r.Body, &tok)
			answers[i], tokens[i] = r, tok.AccessToken
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if answers[i].Status != 200 || tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: %d %s", i, answers[i].Status, answers[i].Body)
		}
	}
	fetches := d.sb.Stats()["/cgi-bin/stable_token"] + d.sb.Stats()["/cgi-bin/token"]
	t.Logf("%d concurrent callers on two instances: %d fetch(es) from WeChat; slowest answer %v", n, fetches, slowest.Round(time.Millisecond))
	if fetches != 1 {
		t.Errorf("%d fetches from WeChat, want exactly 1", fetches)
	}
}

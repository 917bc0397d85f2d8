package bearer

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
)

func TestMiddleware(t *testing.T) {
	k := newTestKey(t)
	f := newFake(t, k)
	v := newVerifier(t, f.config(true))
	events := watchEvents(v)
	start(t, v)
	var seen api.Claims
	hs := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		if !ok {
			t.Error("no claims in the context")
		}
		seen = c
		io.WriteString(w, "hello "+c.Subject)
	})))
	defer hs.Close()

	now := f.clock.Now()
	good := claimsAt(f.URL, now, "s_good")
	expired := claimsAt(f.URL, now.Add(-3*time.Hour), "s_good")
	f.revoke("s_revoked")
	waitRevoked(t, v, events, "s_revoked")

	type want struct {
		status int
		code   string // "" : success
	}
	cases := []struct {
		name, auth string
		want       want
	}{
		{"valid", "Bearer " + k.token(good), want{200, ""}},
		{"scheme in lower case", "bearer " + k.token(good), want{200, ""}},
		{"no header", "", want{401, api.CodeInvalidToken}},
		{"other scheme", "Basic dXNlcjpwYXNz", want{401, api.CodeInvalidToken}},
		{"empty token", "Bearer   ", want{401, api.CodeInvalidToken}},
		{"garbage", "Bearer not.a.jwt", want{401, api.CodeInvalidToken}},
		{"expired", "Bearer " + k.token(expired), want{401, api.CodeTokenExpired}},
		{"revoked", "Bearer " + k.token(claimsAt(f.URL, now, "s_revoked")), want{401, api.CodeSessionRevoked}},
	}
	do := func(t *testing.T, auth string, w want) {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+"/orders", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != w.status {
			t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, w.status, body)
		}
		if w.code == "" {
			if string(body) != "hello u_alice" {
				t.Errorf("body = %q", body)
			}
			return
		}
		var fields map[string]string
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if len(fields) != 2 || fields["error"] != w.code || fields["error_description"] == "" {
			t.Errorf("body = %s, want {\"error\":%q,\"error_description\":…}", body, w.code)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type = %q", ct)
		}
		challenge := resp.Header.Get("WWW-Authenticate")
		if w.status == 401 {
			wantCh := `Bearer error="invalid_token", error_description="` + fields["error_description"] + `"`
			if challenge != wantCh {
				t.Errorf("WWW-Authenticate = %q, want %q", challenge, wantCh)
			}
		} else if challenge != "" {
			t.Errorf("WWW-Authenticate = %q on a %d", challenge, w.status)
		}
		if w.status == 503 && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { do(t, tc.auth, tc.want) })
	}
	if seen != good {
		t.Errorf("handler saw %+v, want %+v", seen, good)
	}

	t.Run("push down", func(t *testing.T) {
		f.cut(true)
		waitLive(t, v, false)
		do(t, "Bearer "+k.token(good), want{503, api.CodeUnavailable})
	})
}

func TestClaimsFromContextOutside(t *testing.T) {
	if c, ok := ClaimsFromContext(t.Context()); ok {
		t.Errorf("ClaimsFromContext outside the middleware = %+v, true", c)
	}
}

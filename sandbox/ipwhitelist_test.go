package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestIPWhitelist: with an IP whitelist the endpoints WeChat guards answer
// 40164 naming the caller's address (reference §1.1); the others, and
// every endpoint for a listed caller, answer as before.
func TestIPWhitelist(t *testing.T) {
	elsewhere := []string{"203.0.113.7", "198.51.100.0/24"}
	mp, oa := appA, appOA
	mp.IPWhitelist, oa.IPWhitelist = elsewhere, elsewhere
	e := newEnv(t, func(c *Config) { c.Apps = []App{mp, oa} })

	refused := func(t *testing.T, what string, a answer) {
		t.Helper()
		checkWeChatError(t, a, 40164)
		if !strings.HasPrefix(a.Errmsg, "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist, rid: ") {
			t.Errorf("%s: errmsg %q, want WeChat's naming the caller", what, a.Errmsg)
		}
	}
	refused(t, "MP /cgi-bin/token", e.get(t, tokenPath, tokenQueryFor(mp)))
	refused(t, "MP /cgi-bin/stable_token", e.post(t, "/cgi-bin/stable_token", nil,
		`{"grant_type":"client_credential","appid":"`+mp.AppID+`","secret":"`+mp.Secret+`"}`))
	code := e.code(t, mp, "alice")
	refused(t, "MP jscode2session", e.get(t, loginPath, loginQuery(mp, code)))
	refused(t, "OA /cgi-bin/token", e.get(t, tokenPath, tokenQueryFor(oa)))
	oaCode := e.oauthCode(t, oa, "alice", ScopeUserInfo)
	refused(t, "OA oauth2/access_token", e.get(t, oauthPath, oauthQuery(oa, oaCode)))
	refused(t, "OA oauth2/refresh_token", e.get(t, "/sns/oauth2/refresh_token", refreshQuery(oa, "whatever")))

	// The Mini Program's token-using APIs are not guarded: let the caller
	// in, take a token and a session, close the list again.
	e.setWhitelist(t, mp.AppID, []string{"127.0.0.1"})
	tok := e.appToken(t, mp)
	if a := e.get(t, loginPath, loginQuery(mp, code)); a.code() != 0 {
		t.Fatalf("jscode2session from a listed caller: errcode %d, want success (the refused call kept the code)", a.code())
	}
	e.setWhitelist(t, mp.AppID, elsewhere)
	phone, err := e.sb.IssuePhoneCode(mp.AppID, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if a := e.post(t, phonePath, tokenQuery(tok), `{"code":"`+phone+`"}`); a.code() != 0 {
		t.Errorf("MP getuserphonenumber: errcode %d, want success (not guarded)", a.code())
	}

	// The Official Account's user-token APIs are guarded too.
	e.setWhitelist(t, oa.AppID, []string{"::1", "127.0.0.0/8"})
	ex := e.exchange(t, oa, "alice", ScopeUserInfo)
	e.setWhitelist(t, oa.AppID, elsewhere)
	q := url.Values{"access_token": {ex.AccessToken}, "openid": {ex.OpenID}}
	refused(t, "OA /sns/userinfo", e.get(t, "/sns/userinfo", q))
	refused(t, "OA /sns/auth", e.get(t, "/sns/auth", q))
}

// setWhitelist replaces an app's whitelist, as WeChat's console would.
func (e *env) setWhitelist(t *testing.T, appID string, list []string) {
	t.Helper()
	if err := e.sb.SetIPWhitelist(appID, list); err != nil {
		t.Fatalf("SetIPWhitelist(%q, %q) = %v", appID, list, err)
	}
}

func TestIPWhitelistControl(t *testing.T) {
	e := newEnv(t, nil)
	var got appJSON
	status := e.control(t, http.MethodPost, "/apps", map[string]any{
		"kind": "official_account", "appid": "wxwl", "secret": "s", "ip_whitelist": []string{"203.0.113.7"}}, &got)
	if status != http.StatusCreated || len(got.IPWhitelist) != 1 {
		t.Fatalf("POST /apps with ip_whitelist = %d %+v, want 201 with the list", status, got)
	}
	a := e.get(t, tokenPath, url.Values{"grant_type": {"client_credential"}, "appid": {"wxwl"}, "secret": {"s"}})
	checkWeChatError(t, a, 40164)

	for _, bad := range []map[string]any{
		{"kind": "official_account", "appid": "wxb1", "secret": "s", "ip_whitelist": []string{"not-an-ip"}},
		{"kind": "website", "appid": "wxb2", "secret": "s", "ip_whitelist": []string{"203.0.113.7"}},
	} {
		if status := e.control(t, http.MethodPost, "/apps", bad, nil); status != http.StatusBadRequest {
			t.Errorf("POST /apps %v: status %d, want 400", bad, status)
		}
	}
}

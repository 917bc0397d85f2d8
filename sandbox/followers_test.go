package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

const followerPath = "/cgi-bin/user/info"

func followerQuery(tok, openid string) url.Values {
	return url.Values{"access_token": {tok}, "openid": {openid}, "lang": {"zh_CN"}}
}

// Reference §5.3, §7 (/cgi-bin/user/info): followers answer subscribe 1
// and, for a bound account, the unionid; someone who unfollowed only
// subscribe 0 and the openid; following again sets subscribe_time.
func TestFollowerInfo(t *testing.T) {
	e := newOAuthEnv(t)
	start := e.clock.Now()
	tok := e.appToken(t, appOA)
	alice := openID(appOA.AppID, "alice")

	a := e.get(t, followerPath, followerQuery(tok, alice))
	want := []string{"groupid", "language", "openid", "qr_scene", "qr_scene_str", "remark", "subscribe", "subscribe_scene", "subscribe_time", "tagid_list", "unionid"}
	if got := fieldNames(a); !slices.Equal(got, want) {
		t.Errorf("follower fields = %v, want %v (no nickname or avatar since 2021-12-27)", got, want)
	}
	if a.code() != 0 || string(a.fields["subscribe"]) != "1" || a.OpenID != alice || a.UnionID != unionID("alice") ||
		string(a.fields["subscribe_time"]) != jsonNumber(start.Unix()) {
		t.Errorf("alice follows: %s", a.fields)
	}
	if u := e.get(t, followerPath, followerQuery(e.appToken(t, appOAU), openID(appOAU.AppID, "alice"))); u.code() != 0 || u.fields["unionid"] != nil {
		t.Errorf("unbound account: errcode %d unionid %s, want 0 and none", u.code(), u.fields["unionid"])
	}

	if err := e.sb.SetFollower(appOA.AppID, "alice", false); err != nil {
		t.Fatal(err)
	}
	a = e.get(t, followerPath, followerQuery(tok, alice))
	if got := fieldNames(a); a.code() != 0 || !slices.Equal(got, []string{"openid", "subscribe"}) || string(a.fields["subscribe"]) != "0" {
		t.Errorf("after unfollowing: errcode %d fields %s, want subscribe 0 and the openid only", a.code(), a.fields)
	}
	if b := e.get(t, followerPath, followerQuery(tok, openID(appOA.AppID, "bob"))); b.UnionID != unionID("bob") {
		t.Errorf("bob still follows: unionid %q", b.UnionID)
	}

	e.clock.Advance(time.Hour)
	if status := e.control(t, http.MethodPost, "/followers", map[string]any{"appid": appOA.AppID, "user": "alice", "subscribe": true}, nil); status != http.StatusNoContent {
		t.Fatalf("POST /followers subscribe: status %d, want 204", status)
	}
	a = e.get(t, followerPath, followerQuery(tok, alice))
	if string(a.fields["subscribe"]) != "1" || a.UnionID != unionID("alice") || string(a.fields["subscribe_time"]) != jsonNumber(start.Add(time.Hour).Unix()) {
		t.Errorf("after following again: %s", a.fields)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// The checks of /cgi-bin/user/info and of POST /sandbox/v1/followers.
func TestFollowerInfoErrors(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.appToken(t, appOA)
	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"no token", followerQuery("", openID(appOA.AppID, "alice")), 41001},
		{"unknown token", followerQuery("nope", openID(appOA.AppID, "alice")), 40001},
		{"no openid", followerQuery(tok, ""), 41009},
		{"another app's openid", followerQuery(tok, openID(appA.AppID, "alice")), 40003},
		{"a mini program's token", followerQuery(e.appToken(t, appA), openID(appA.AppID, "alice")), 48001},
	}
	for _, tt := range tests {
		if a := e.get(t, followerPath, tt.q); a.code() != tt.want {
			t.Errorf("%s: errcode %d, want %d", tt.name, a.code(), tt.want)
		}
	}
	for _, body := range []map[string]any{
		{"appid": appOA.AppID, "user": "alice"},                      // no subscribe
		{"appid": appA.AppID, "user": "alice", "subscribe": false},   // not an Official Account
		{"appid": appOA.AppID, "user": "nobody", "subscribe": false}, // 404
		{"appid": "wx-unknown", "user": "alice", "subscribe": false}, // 404
		{"appid": appOA.AppID, "user": "alice", "subscribe": "no"},   // malformed
	} {
		if status := e.control(t, http.MethodPost, "/followers", body, nil); status != http.StatusBadRequest && status != http.StatusNotFound {
			t.Errorf("POST /followers %v: status %d, want 400 or 404", body, status)
		}
	}
}

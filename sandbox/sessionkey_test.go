package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Reference §3.8, HMAC-SHA256 vectors: the key is the session_key's base64
// text.
func TestSessionSignatureVectors(t *testing.T) {
	tests := []struct{ key, msg, want string }{
		{"o0q0otL8aEzpcZL/FT9WsQ==", `{"foo":"bar"}`, "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b"},
		{"o0q0otL8aEzpcZL/FT9WsQ==", "", "46e043c5525c2d817c44be603d30837a808a1d930d038f6fdc3e62a201fed128"},
		{"tiihtNczf5v6AKRyjwEUhQ==", "", "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735"},
	}
	for _, tt := range tests {
		if tt.msg == "" {
			if got := sessionSignature(tt.key); got != tt.want {
				t.Errorf("sessionSignature(%q) = %s, want %s", tt.key, got, tt.want)
			}
			continue
		}
		// The doc example signs a message; it confirms the key/message roles.
		m := hmac.New(sha256.New, []byte(tt.key))
		m.Write([]byte(tt.msg))
		if got := hex.EncodeToString(m.Sum(nil)); got != tt.want {
			t.Errorf("HMAC-SHA256(%q, %q) = %s, want %s", tt.key, tt.msg, got, tt.want)
		}
	}
}

func sessionQuery(tok, openid, sig string) url.Values {
	return url.Values{"access_token": {tok}, "openid": {openid}, "signature": {sig}, "sig_method": {"hmac_sha256"}}
}

// Reference §3.3: 0 for the current session_key, 87009 otherwise, 87008 for
// another sig_method.
func TestCheckSession(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appA)
	old := e.login(t, appA, "alice").SessionKey
	cur := e.login(t, appA, "alice").SessionKey // rotates (§3.9)
	if old == cur {
		t.Fatalf("second login kept the session_key; the test needs rotation")
	}
	e.login(t, appB, "bob")
	aliceA := openID(appA.AppID, "alice")

	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"current key", sessionQuery(tok, aliceA, sessionSignature(cur)), 0},
		{"stale key", sessionQuery(tok, aliceA, sessionSignature(old)), 87009},
		{"signature of the decoded key", sessionQuery(tok, aliceA, "bfa68836"), 87009},
		{"no signature", sessionQuery(tok, aliceA, ""), 87009},
		{"user never logged in here", sessionQuery(tok, openID(appA.AppID, "bob"), sessionSignature(e.sb.SessionKey(appB.AppID, "bob"))), 87009},
		{"no sig_method", url.Values{"access_token": {tok}, "openid": {aliceA}, "signature": {sessionSignature(cur)}}, 87008},
		{"other sig_method", func() url.Values {
			q := sessionQuery(tok, aliceA, sessionSignature(cur))
			q.Set("sig_method", "hmac_sha1")
			return q
		}(), 87008},
		{"unknown openid", sessionQuery(tok, "oUnknownUnknownUnknownUnknown", sessionSignature(cur)), 40003},
		{"openid of another app", sessionQuery(tok, openID(appB.AppID, "alice"), sessionSignature(cur)), 40003},
		{"no token", sessionQuery("", aliceA, sessionSignature(cur)), 41001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.get(t, "/wxa/checksession", tt.q)
			if tt.want == 0 {
				if a.code() != 0 || a.Errmsg != "ok" || a.Errcode == nil {
					t.Errorf("checksession = %v %q, want errcode 0, errmsg ok", a.Errcode, a.Errmsg)
				}
				return
			}
			checkWeChatError(t, a, tt.want)
		})
	}
}

// docs/sandbox.md rotate: the session_key is replaced now; reference §3.3:
// the old key then fails checksession.
func TestRotateSessionKey(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appA)
	old := e.login(t, appA, "alice").SessionKey
	if status := e.control(t, http.MethodPost, "/miniprogram/rotate", map[string]string{"appid": appA.AppID, "user": "alice"}, nil); status != http.StatusNoContent {
		t.Fatalf("POST /miniprogram/rotate: status %d, want 204", status)
	}
	cur := e.sb.SessionKey(appA.AppID, "alice")
	if cur == old || len(cur) != 24 {
		t.Fatalf("SessionKey after rotate = %q (was %q), want a new key", cur, old)
	}
	q := sessionQuery(tok, openID(appA.AppID, "alice"), sessionSignature(old))
	checkWeChatError(t, e.get(t, "/wxa/checksession", q), 87009)
	q.Set("signature", sessionSignature(cur))
	if a := e.get(t, "/wxa/checksession", q); a.code() != 0 {
		t.Errorf("checksession with the new key: errcode %d, want 0", a.code())
	}

	tests := []struct {
		name, appID, user string
		status            int
	}{
		{"not logged in yet", appA.AppID, "bob", 404},
		{"unknown user", appA.AppID, "mallory", 404},
		{"unknown app", "wxunknown", "alice", 404},
		{"official account", appOA.AppID, "alice", 400},
		{"no user", appA.AppID, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got errorJSON
			status := e.control(t, http.MethodPost, "/miniprogram/rotate", map[string]string{"appid": tt.appID, "user": tt.user}, &got)
			if status != tt.status || got.Description == "" {
				t.Errorf("POST /miniprogram/rotate %s/%s = %d %+v, want %d", tt.appID, tt.user, status, got, tt.status)
			}
		})
	}
	if got := e.sb.SessionKey(appA.AppID, "bob"); got != "" {
		t.Errorf("rotate for a user who never logged in created key %q", got)
	}
}

// Reference §3.4: a signature of the current key buys a new key; the old
// one stops working at once.
func TestResetUserSessionKey(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.appToken(t, appA)
	old := e.login(t, appA, "alice").SessionKey
	aliceA := openID(appA.AppID, "alice")

	a := e.get(t, "/wxa/resetusersessionkey", sessionQuery(tok, aliceA, sessionSignature(old)))
	if a.code() != 0 || a.Errmsg != "ok" || a.OpenID != aliceA || len(a.SessionKey) != 24 || a.SessionKey == old {
		t.Fatalf("resetusersessionkey = %d %q openid %q key %q; want a new key for %q", a.code(), a.Errmsg, a.OpenID, a.SessionKey, aliceA)
	}
	if got := e.sb.SessionKey(appA.AppID, "alice"); got != a.SessionKey {
		t.Errorf("SessionKey() = %q, want the reset's %q", got, a.SessionKey)
	}
	checkWeChatError(t, e.get(t, "/wxa/checksession", sessionQuery(tok, aliceA, sessionSignature(old))), 87009)
	if c := e.get(t, "/wxa/checksession", sessionQuery(tok, aliceA, sessionSignature(a.SessionKey))); c.code() != 0 {
		t.Errorf("checksession with the reset key: errcode %d, want 0", c.code())
	}
	// The old key cannot reset again (87009, unverified per §8).
	checkWeChatError(t, e.get(t, "/wxa/resetusersessionkey", sessionQuery(tok, aliceA, sessionSignature(old))), 87009)
	q := sessionQuery(tok, aliceA, sessionSignature(a.SessionKey))
	q.Set("sig_method", strings.ToUpper("hmac_sha256"))
	checkWeChatError(t, e.get(t, "/wxa/resetusersessionkey", q), 87008)
}

package server_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/sandbox"
)

type phoneAnswer struct {
	Phone      string `json:"phone"`
	PhoneBound bool   `json:"phone_bound"`
}

func me(t *testing.T, s *servertest.Server, tok string) api.Me {
	t.Helper()
	var m api.Me
	r := s.Do(t, "GET", "/v1/me", nil, tok)
	if r.Status != 200 {
		t.Fatalf("GET /v1/me = %d %s", r.Status, r.Body)
	}
	r.JSON(t, &m)
	return m
}

func TestPhoneNewAPI(t *testing.T) {
	s := servertest.New(t)
	l := s.Login(t, "mp", "alice")
	code, err := s.Sandbox.IssuePhoneCode(s.AppID(t, "mp"), "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": code}, l.AccessToken)
	var p phoneAnswer
	r.JSON(t, &p)
	if r.Status != 200 || p.Phone != "+8613800000001" || !p.PhoneBound {
		t.Fatalf("phone = %d %s", r.Status, r.Body)
	}
	if got := me(t, s, l.AccessToken).Phone; got != "+8613800000001" {
		t.Errorf("GET /v1/me phone = %q", got)
	}
	if again := s.Login(t, "mp", "alice"); !again.User.PhoneBound {
		t.Error("the next login does not say phone_bound")
	}
	// A phone code works once (WeChat answers 40029 for a used one).
	r = s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": code}, l.AccessToken)
	if e := wantError(t, r, 400, api.CodeInvalidCode); e.WeChatErrcode == nil || *e.WeChatErrcode != 40029 {
		t.Errorf("reused phone code: wechat_errcode = %v", e.WeChatErrcode)
	}
	// Without a bearer token, nothing.
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": code}, ""), 401, api.CodeInvalidToken)
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/phone", `{}`, l.AccessToken), 400, api.CodeInvalidRequest)
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/phone", `{"code": 5}`, l.AccessToken), 400, api.CodeInvalidRequest)
}

func TestPhoneLegacyAndTaken(t *testing.T) {
	s := servertest.New(t)
	mp := s.AppID(t, "mp")
	alice := s.Login(t, "mp", "alice")
	enc, err := s.Sandbox.Encrypted(mp, "alice", sandbox.EncryptedPhone)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"encrypted_data": enc.EncryptedData, "iv": enc.IV}, alice.AccessToken)
	var p phoneAnswer
	r.JSON(t, &p)
	if r.Status != 200 || p.Phone != "+8613800000001" {
		t.Fatalf("legacy phone = %d %s", r.Status, r.Body)
	}
	// Bob presents alice's number: it is hers.
	bob := s.Login(t, "mp", "bob")
	code, _ := s.Sandbox.IssuePhoneCode(mp, "bob", "+8613800000001")
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": code}, bob.AccessToken), 409, api.CodePhoneTaken)
	if got := me(t, s, bob.AccessToken).Phone; got != "" {
		t.Errorf("bob's phone after a refused bind = %q", got)
	}
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"encrypted_data": enc.EncryptedData}, alice.AccessToken), 400, api.CodeInvalidRequest)
}

func TestUserInfo(t *testing.T) {
	s := servertest.New(t)
	mp := s.AppID(t, "mp")
	l := s.Login(t, "mp", "alice")
	enc, err := s.Sandbox.Encrypted(mp, "alice", sandbox.EncryptedUserInfo)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"encrypted_data": enc.EncryptedData, "iv": enc.IV, "raw_data": enc.RawData, "signature": enc.Signature}
	r := s.Do(t, "POST", "/v1/miniprogram/userinfo", body, l.AccessToken)
	var u api.User
	r.JSON(t, &u)
	if r.Status != 200 || u.Nickname != "Alice" || u.AvatarURL == "" || u.ID != l.User.ID {
		t.Fatalf("userinfo = %d %s", r.Status, r.Body)
	}
	if m := me(t, s, l.AccessToken); m.Nickname != "Alice" || m.AvatarURL != u.AvatarURL {
		t.Errorf("GET /v1/me after userinfo = %+v", m)
	}

	t.Run("bad signature", func(t *testing.T) {
		bad := map[string]string{"encrypted_data": enc.EncryptedData, "iv": enc.IV,
			"raw_data": strings.Replace(enc.RawData, "Alice", "Mallory", 1), "signature": enc.Signature}
		wantError(t, s.Do(t, "POST", "/v1/miniprogram/userinfo", bad, l.AccessToken), 400, api.CodeInvalidSignature)
	})
	t.Run("wrong watermark", func(t *testing.T) {
		// Data sealed with alice's real session_key but stamped for another
		// app: it decrypts, and the watermark gives it away.
		key := s.Sandbox.SessionKey(mp, "alice")
		plain := `{"openId":"x","nickName":"Mallory","watermark":{"timestamp":1,"appid":"wx0000000000000000"}}`
		data, iv := encryptWithKey(t, key, plain)
		forged := map[string]string{"encrypted_data": data, "iv": iv, "raw_data": enc.RawData, "signature": enc.Signature}
		wantError(t, s.Do(t, "POST", "/v1/miniprogram/userinfo", forged, l.AccessToken), 400, api.CodeInvalidSignature)
		wantError(t, s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"encrypted_data": data, "iv": iv}, l.AccessToken), 400, api.CodeInvalidSignature)
	})
	t.Run("missing fields", func(t *testing.T) {
		wantError(t, s.Do(t, "POST", "/v1/miniprogram/userinfo", map[string]string{"encrypted_data": enc.EncryptedData}, l.AccessToken), 400, api.CodeInvalidRequest)
	})
}

// WeChat replaced the session_key (another wx.login, or expiry): data made
// with the new key does not decrypt with the one wxauth holds, the answer
// says to log in again, and after a new login fresh data works.
func TestSessionKeyExpired(t *testing.T) {
	s := servertest.New(t)
	mp := s.AppID(t, "mp")
	l := s.Login(t, "mp", "alice")
	if err := s.Sandbox.RotateSessionKey(mp, "alice"); err != nil {
		t.Fatal(err)
	}
	enc, err := s.Sandbox.Encrypted(mp, "alice", sandbox.EncryptedUserInfo)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"encrypted_data": enc.EncryptedData, "iv": enc.IV, "raw_data": enc.RawData, "signature": enc.Signature}
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/userinfo", body, l.AccessToken), 409, api.CodeSessionKeyExpired)
	phone, _ := s.Sandbox.Encrypted(mp, "alice", sandbox.EncryptedPhone)
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"encrypted_data": phone.EncryptedData, "iv": phone.IV}, l.AccessToken), 409, api.CodeSessionKeyExpired)

	// The client logs in again (a new wx.login: a new key) and asks again.
	l2 := s.Login(t, "mp", "alice")
	enc, _ = s.Sandbox.Encrypted(mp, "alice", sandbox.EncryptedUserInfo)
	body = map[string]string{"encrypted_data": enc.EncryptedData, "iv": enc.IV, "raw_data": enc.RawData, "signature": enc.Signature}
	if r := s.Do(t, "POST", "/v1/miniprogram/userinfo", body, l2.AccessToken); r.Status != 200 {
		t.Fatalf("userinfo after a new login = %d %s", r.Status, r.Body)
	}
	// The old session holds the old key: the same data is stale for it.
	wantError(t, s.Do(t, "POST", "/v1/miniprogram/userinfo", body, l.AccessToken), 409, api.CodeSessionKeyExpired)
}

// WeChat refuses the app access token once (40001): wxauth drops it, fetches
// a new one and retries the call once, and the user never notices.
func TestAppTokenRetryOn40001(t *testing.T) {
	s := servertest.New(t)
	mp := s.AppID(t, "mp")
	l := s.Login(t, "mp", "alice")
	code, _ := s.Sandbox.IssuePhoneCode(mp, "alice", "")
	first, _ := s.Sandbox.IssuePhoneCode(mp, "alice", "")
	if r := s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": first}, l.AccessToken); r.Status != 200 {
		t.Fatalf("phone = %d %s", r.Status, r.Body)
	}
	before := s.Sandbox.Stats()
	s.Sandbox.InvalidateAppTokens(mp) // the token leaked and was refreshed elsewhere
	r := s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": code}, l.AccessToken)
	if r.Status != 200 {
		t.Fatalf("phone after the app token was invalidated = %d %s", r.Status, r.Body)
	}
	after := s.Sandbox.Stats()
	if n := after["/wxa/business/getuserphonenumber"] - before["/wxa/business/getuserphonenumber"]; n != 2 {
		t.Errorf("getuserphonenumber called %d times, want 2 (refused, then retried once)", n)
	}
	if n := after["/cgi-bin/stable_token"] - before["/cgi-bin/stable_token"]; n != 1 {
		t.Errorf("stable_token called %d times, want 1 (one refetch)", n)
	}
	// A token refused on every call: one retry, then the error, no loop.
	code, _ = s.Sandbox.IssuePhoneCode(mp, "alice", "")
	s.Sandbox.InjectFault(sandbox.Fault{Path: "/wxa/business/getuserphonenumber", Errcode: 40001, Count: 10})
	before = s.Sandbox.Stats()
	r = s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"code": code}, l.AccessToken)
	wantError(t, r, 502, api.CodeWeChatUnavailable)
	if n := s.Sandbox.Stats()["/wxa/business/getuserphonenumber"] - before["/wxa/business/getuserphonenumber"]; n != 2 {
		t.Errorf("with a persistent 40001, getuserphonenumber called %d times, want 2", n)
	}
}

// Other services take the app token from wxauth; hundreds of them at once
// cause one fetch from WeChat, and a refused token is refetched only if it
// is still the current one.
func TestAppTokenEndpoint(t *testing.T) {
	const key = "service-key-0123456789"
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.ServiceKeys = []config.ServiceKey{{Name: "test", Scopes: api.ServiceKeyScopes, Secret: key}}
	}))
	get := func() (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/v1/wechat/access_token?app=mp", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.HTTP.Do(req)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		var a struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		json.NewDecoder(resp.Body).Decode(&a)
		if a.ExpiresIn < 300 {
			return -1, a.AccessToken
		}
		return resp.StatusCode, a.AccessToken
	}
	var wg sync.WaitGroup
	tokens := make([]string, 200)
	statuses := make([]int, 200)
	start := make(chan struct{})
	for i := range tokens {
		wg.Go(func() { <-start; statuses[i], tokens[i] = get() })
	}
	close(start)
	wg.Wait()
	for i := range tokens {
		if statuses[i] != 200 || tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("caller %d got %d %q, want 200 and the one token", i, statuses[i], tokens[i])
		}
	}
	if n := s.Sandbox.Stats()["/cgi-bin/stable_token"]; n != 1 {
		t.Errorf("200 concurrent callers caused %d fetches, want 1", n)
	}
	report := func(invalid string) servertest.Response {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/v1/wechat/access_token",
			strings.NewReader(`{"app":"mp","invalid_token":"`+invalid+`"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return servertest.Response{Status: resp.StatusCode, Body: b}
	}
	// A stale report changes nothing.
	if r := report("some-old-token"); r.Status != 200 || s.Sandbox.Stats()["/cgi-bin/stable_token"] != 1 {
		t.Errorf("stale report: %d %s, fetches %d", r.Status, r.Body, s.Sandbox.Stats()["/cgi-bin/stable_token"])
	}
	// Reporting the current token refetches.
	if r := report(tokens[0]); r.Status != 200 || s.Sandbox.Stats()["/cgi-bin/stable_token"] != 2 {
		t.Errorf("current report: %d %s, fetches %d, want 2", r.Status, r.Body, s.Sandbox.Stats()["/cgi-bin/stable_token"])
	}
	wantError(t, s.Do(t, "GET", "/v1/wechat/access_token?app=mp", nil, ""), 401, api.CodeInvalidToken)
	r := s.Do(t, "GET", "/v1/wechat/access_token?app=nope", nil, key)
	wantError(t, r, 400, api.CodeUnknownApp)
	if m := string(s.Do(t, "GET", "/metrics", nil, "").Body); !strings.Contains(m, `wxauth_app_token_fetches_total{appid="`+s.AppID(t, "mp")+`"} 2`) {
		t.Errorf("/metrics lacks the app-token fetch count")
	}
}

// encryptWithKey seals plain as WeChat does (AES-128-CBC, PKCS#7) with a
// session_key, for forged-data tests.
func encryptWithKey(t *testing.T, sessionKey, plain string) (data, iv string) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil || len(key) != 16 {
		t.Fatalf("session key %q: %v", sessionKey, err)
	}
	block, _ := aes.NewCipher(key)
	pad := 16 - len(plain)%16
	buf := []byte(plain + strings.Repeat(string(rune(pad)), pad))
	ivb := make([]byte, 16)
	rand.Read(ivb)
	cipher.NewCBCEncrypter(block, ivb).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), base64.StdEncoding.EncodeToString(ivb)
}

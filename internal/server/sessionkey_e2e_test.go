package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/sandbox"
)

// WeChat replaces a user's session_key when a code is issued (wx.login,
// data pre-fetch), not when it is exchanged, and lets it lapse after
// inactivity (reference §3.9). These tests drive the front end's side
// through the sandbox's control API over HTTP, as a mini program would
// through WeChat, and wxauth through its own API.

// frontEnd is what a mini program page gets from WeChat for one user.
type frontEnd struct {
	s          *servertest.Server
	appID, who string
}

// wxLogin is wx.login(): a new code, issued whether or not the page sends it
// to the backend.
func (f frontEnd) wxLogin(t *testing.T) string {
	t.Helper()
	var out struct {
		Code string `json:"code"`
	}
	f.control(t, "/sandbox/v1/miniprogram/code", map[string]string{"appid": f.appID, "user": f.who}, &out)
	return out.Code
}

// data is what the old getPhoneNumber button (sandbox.EncryptedPhone) or
// wx.getUserInfo (sandbox.EncryptedUserInfo) hands the page now.
func (f frontEnd) data(t *testing.T, kind string) sandbox.EncryptedData {
	t.Helper()
	var out sandbox.EncryptedData
	f.control(t, "/sandbox/v1/miniprogram/encrypted", map[string]string{"appid": f.appID, "user": f.who, "kind": kind}, &out)
	return out
}

func (f frontEnd) control(t *testing.T, path string, body, out any) {
	t.Helper()
	r := f.s.Do(t, "POST", path, body, "")
	if r.Status != http.StatusOK {
		t.Fatalf("POST %s = %d %s", path, r.Status, r.Body)
	}
	r.JSON(t, out)
}

// login sends a wx.login code to wxauth.
func (f frontEnd) login(t *testing.T, code string) api.TokenResponse {
	t.Helper()
	r := f.s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: code}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	var tr api.TokenResponse
	r.JSON(t, &tr)
	return tr
}

// sendPhone and sendUserInfo post the data to wxauth with the access token.
func (f frontEnd) sendPhone(t *testing.T, d sandbox.EncryptedData, access string) servertest.Response {
	t.Helper()
	return f.s.Do(t, "POST", "/v1/miniprogram/phone", map[string]string{"encrypted_data": d.EncryptedData, "iv": d.IV}, access)
}

func (f frontEnd) sendUserInfo(t *testing.T, d sandbox.EncryptedData, access string) servertest.Response {
	t.Helper()
	body := map[string]string{"encrypted_data": d.EncryptedData, "iv": d.IV, "raw_data": d.RawData, "signature": d.Signature}
	return f.s.Do(t, "POST", "/v1/miniprogram/userinfo", body, access)
}

// The classic pitfall: the page calls wx.login again (say, in the
// getPhoneNumber callback) and never sends that code. WeChat replaced the
// key when it issued the code, so the data the page gets next is sealed
// with a key wxauth never saw: 409 session_key_expired. Sending a fresh
// code and asking WeChat for the data again mends it.
func TestSessionKeyRotatedByUnsentCode(t *testing.T) {
	s := servertest.New(t)
	f := frontEnd{s: s, appID: s.AppID(t, "mp"), who: "alice"}
	l := f.login(t, f.wxLogin(t))

	// Data asked for right after the login decrypts.
	if r := f.sendUserInfo(t, f.data(t, sandbox.EncryptedUserInfo), l.AccessToken); r.Status != 200 {
		t.Fatalf("userinfo after login = %d %s", r.Status, r.Body)
	}

	f.wxLogin(t) // the code is dropped: only WeChat knows the new key
	phone := f.data(t, sandbox.EncryptedPhone)
	info := f.data(t, sandbox.EncryptedUserInfo)
	wantError(t, f.sendPhone(t, phone, l.AccessToken), 409, api.CodeSessionKeyExpired)
	wantError(t, f.sendUserInfo(t, info, l.AccessToken), 409, api.CodeSessionKeyExpired)

	// The remedy: wx.login, log in with that code, ask WeChat again. The
	// old data never decrypts, not even for the new session.
	l2 := f.login(t, f.wxLogin(t))
	wantError(t, f.sendPhone(t, phone, l2.AccessToken), 409, api.CodeSessionKeyExpired)
	var p phoneAnswer
	r := f.sendPhone(t, f.data(t, sandbox.EncryptedPhone), l2.AccessToken)
	if r.JSON(t, &p); r.Status != 200 || p.Phone != "+8613800000001" {
		t.Fatalf("phone after logging in again = %d %s", r.Status, r.Body)
	}
	if r := f.sendUserInfo(t, f.data(t, sandbox.EncryptedUserInfo), l2.AccessToken); r.Status != 200 {
		t.Fatalf("userinfo after logging in again = %d %s", r.Status, r.Body)
	}
}

// A code sent late still carries the current key: the exchange does not
// rotate, the issue did. Two wx.login calls, the first code sent: wxauth
// gets the key of the second, and the data decrypts.
func TestSessionKeyExchangeAnswersCurrentKey(t *testing.T) {
	s := servertest.New(t)
	f := frontEnd{s: s, appID: s.AppID(t, "mp"), who: "bob"}
	first := f.wxLogin(t)
	f.wxLogin(t)
	l := f.login(t, first)
	if r := f.sendUserInfo(t, f.data(t, sandbox.EncryptedUserInfo), l.AccessToken); r.Status != 200 {
		t.Fatalf("userinfo = %d %s", r.Status, r.Body)
	}
}

// The switches: with rotate_on_code off, or a new code inside the
// minimum rotation period, the extra wx.login keeps the key and the data
// decrypts; past the period it rotates again.
func TestSessionKeyRotationSwitches(t *testing.T) {
	off := false
	t.Run("rotate_on_code off", func(t *testing.T) {
		s := servertest.New(t, servertest.SandboxSessionKey(sandbox.SessionKeyPolicy{RotateOnCode: &off}))
		f := frontEnd{s: s, appID: s.AppID(t, "mp"), who: "alice"}
		l := f.login(t, f.wxLogin(t))
		f.wxLogin(t)
		if r := f.sendPhone(t, f.data(t, sandbox.EncryptedPhone), l.AccessToken); r.Status != 200 {
			t.Fatalf("phone = %d %s", r.Status, r.Body)
		}
	})
	t.Run("min_rotation", func(t *testing.T) {
		s := servertest.New(t, servertest.SandboxSessionKey(sandbox.SessionKeyPolicy{MinRotation: 5 * time.Minute}))
		f := frontEnd{s: s, appID: s.AppID(t, "mp"), who: "alice"}
		l := f.login(t, f.wxLogin(t))
		s.Clock.Advance(4 * time.Minute)
		f.wxLogin(t)
		if r := f.sendPhone(t, f.data(t, sandbox.EncryptedPhone), l.AccessToken); r.Status != 200 {
			t.Fatalf("phone, code 4 minutes after the key = %d %s", r.Status, r.Body)
		}
		s.Clock.Advance(time.Minute)
		f.wxLogin(t)
		wantError(t, f.sendPhone(t, f.data(t, sandbox.EncryptedPhone), l.AccessToken), 409, api.CodeSessionKeyExpired)
	})
}

// A user back after three days: the refresh token keeps the session, but
// WeChat let the session_key lapse; the data the page gets comes with a
// new key, so wxauth answers 409 until the page logs in again.
func TestSessionKeyLapsesAfterInactivity(t *testing.T) {
	s := servertest.New(t)
	f := frontEnd{s: s, appID: s.AppID(t, "mp"), who: "alice"}
	l := f.login(t, f.wxLogin(t))
	s.Clock.Advance(71 * time.Hour)
	// Still in use after 71 hours: the data decrypts, and the use renews it.
	tok := refreshed(t, s, l.RefreshToken)
	if r := f.sendUserInfo(t, f.data(t, sandbox.EncryptedUserInfo), tok.AccessToken); r.Status != 200 {
		t.Fatalf("userinfo after 71 hours = %d %s", r.Status, r.Body)
	}
	s.Clock.Advance(72 * time.Hour)
	tok = refreshed(t, s, tok.RefreshToken)
	wantError(t, f.sendUserInfo(t, f.data(t, sandbox.EncryptedUserInfo), tok.AccessToken), 409, api.CodeSessionKeyExpired)
	l2 := f.login(t, f.wxLogin(t))
	if r := f.sendUserInfo(t, f.data(t, sandbox.EncryptedUserInfo), l2.AccessToken); r.Status != 200 {
		t.Fatalf("userinfo after logging in again = %d %s", r.Status, r.Body)
	}
}

// refreshed renews the session's tokens with refresh token rt.
func refreshed(t *testing.T, s *servertest.Server, rt string) api.TokenResponse {
	t.Helper()
	r := s.Do(t, "POST", "/v1/token/refresh", map[string]string{"refresh_token": rt}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("refresh = %d %s", r.Status, r.Body)
	}
	var tr api.TokenResponse
	r.JSON(t, &tr)
	return tr
}

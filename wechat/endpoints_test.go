package wechat_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/wechat"
)

const testAccessToken = "ACCESS_TOKEN_0123456789abcdefghijklmnopqrstuvwxyz"

// recorded is what a fake WeChat saw of one request.
type recorded struct {
	method, path, contentType string
	query                     url.Values
	body                      map[string]any
}

// recordAnd records each request into *got, then answers with h.
func recordAnd(t *testing.T, got *recorded, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		*got = recorded{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), query: r.URL.Query()}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &got.body); err != nil {
				t.Errorf("request body %q is not JSON: %v", b, err)
			}
		}
		h(w, r)
	}
}

func TestToken(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var got recorded
	c, obs, _ := fakeWeChat(t, wechat.Config{Now: func() time.Time { return now }},
		recordAnd(t, &got, answer(200, "text/plain", `{"access_token":"`+testAccessToken+`","expires_in":7200}`)))
	tok, err := c.Token(t.Context(), testAppID, testSecret)
	if err != nil {
		t.Fatalf("Token = %v", err)
	}
	want := wechat.AppToken{Token: testAccessToken, ExpiresAt: now.Add(7200 * time.Second)}
	if tok.Token != want.Token || !tok.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("Token = %#v, want %#v", tok, want)
	}
	if got.method != http.MethodGet || got.path != "/sandbox/api/cgi-bin/token" {
		t.Errorf("request = %s %s, want GET /sandbox/api/cgi-bin/token", got.method, got.path)
	}
	wantQuery := url.Values{"grant_type": {"client_credential"}, "appid": {testAppID}, "secret": {testSecret}}
	if diff := cmp.Diff(wantQuery, got.query); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
	if calls := obs.all(); len(calls) != 1 || calls[0].Endpoint != "/cgi-bin/token" {
		t.Errorf("Observe saw %+v, want one call to /cgi-bin/token", calls)
	}
}

func TestStableToken(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprint("force_refresh=", force), func(t *testing.T) {
			var got recorded
			c, _, _ := fakeWeChat(t, wechat.Config{Now: func() time.Time { return now }},
				recordAnd(t, &got, answer(200, "application/json", `{"access_token":"`+testAccessToken+`","expires_in":312}`)))
			tok, err := c.StableToken(t.Context(), testAppID, testSecret, force)
			if err != nil {
				t.Fatalf("StableToken = %v", err)
			}
			if tok.Token != testAccessToken || !tok.ExpiresAt.Equal(now.Add(312*time.Second)) {
				t.Errorf("StableToken = %#v, want the token expiring in 312s", tok)
			}
			if got.method != http.MethodPost || got.path != "/sandbox/api/cgi-bin/stable_token" || got.contentType != "application/json" {
				t.Errorf("request = %s %s %s, want POST /sandbox/api/cgi-bin/stable_token application/json", got.method, got.path, got.contentType)
			}
			if len(got.query) != 0 {
				t.Errorf("query = %v, want none (reference §2.2: JSON body only)", got.query)
			}
			wantBody := map[string]any{"grant_type": "client_credential", "appid": testAppID, "secret": testSecret, "force_refresh": force}
			if diff := cmp.Diff(wantBody, got.body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokenErrors covers both token endpoints: there 40001 is a wrong
// secret, never ErrTokenInvalid (reference §2.1).
func TestTokenErrors(t *testing.T) {
	fetchers := map[string]func(c *wechat.Client, appID, secret string) (wechat.AppToken, error){
		"Token": func(c *wechat.Client, appID, secret string) (wechat.AppToken, error) {
			return c.Token(t.Context(), appID, secret)
		},
		"StableToken": func(c *wechat.Client, appID, secret string) (wechat.AppToken, error) {
			return c.StableToken(t.Context(), appID, secret, false)
		},
	}
	tests := []struct {
		name string
		body string
		want []error
	}{
		{"40001 wrong secret", errcodeBody(40001), []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{"40125 invalid appsecret", errcodeBody(40125), []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
		{"40164 IP not whitelisted", errcodeBody(40164), []error{wechat.ErrConfiguration, wechat.ErrIPNotAllowed}},
		{"45009 daily quota", errcodeBody(45009), []error{wechat.ErrRateLimited}},
		{"-1 busy", errcodeBody(-1), []error{wechat.ErrBusy, wechat.ErrUnavailable}},
		{"no access_token", `{"expires_in":7200}`, []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{"no expires_in", `{"access_token":"x"}`, []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{"expires_in as string", `{"access_token":"x","expires_in":"7200"}`, []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		// Whatever WeChat echoes, the secret is kept out of the error.
		{"errmsg echoes the secret", `{"errcode":40125,"errmsg":"invalid appsecret ` + testSecret + `"}`, []error{wechat.ErrBadCredential, wechat.ErrConfiguration}},
	}
	for name, fetch := range fetchers {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				c, _, _ := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", tt.body))
				tok, err := fetch(c, testAppID, testSecret)
				if diff := cmp.Diff(errNames(tt.want), errNames(matches(err))); diff != "" {
					t.Errorf("%s = %v, sentinels (-want +got):\n%s", name, err, diff)
				}
				if tok != (wechat.AppToken{}) {
					t.Errorf("%s = %#v with an error, want the zero AppToken", name, tok)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Errorf("error %q contains the secret", err)
				}
			})
		}
		t.Run(name+"/empty arguments", func(t *testing.T) {
			c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
			for _, args := range [][2]string{{"", testSecret}, {testAppID, ""}} {
				if _, err := fetch(c, args[0], args[1]); !errors.Is(err, wechat.ErrInvalidRequest) {
					t.Errorf("%s(%q, %q) = %v, want ErrInvalidRequest", name, args[0], args[1], err)
				}
			}
			if n.Load() != 0 {
				t.Errorf("requests = %d, want none", n.Load())
			}
		})
	}
}

func TestPhoneNumber(t *testing.T) {
	const phoneCode = "e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520eb8ee345274d00c144"
	answerPhone := func(countryCode string) http.HandlerFunc {
		return answer(200, "text/plain", `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"+8613800138000",`+
			`"purePhoneNumber":"13800138000","countryCode":`+countryCode+`,"watermark":{"timestamp":1637744274,"appid":"`+testAppID+`"}}}`)
	}
	want := wechat.PhoneInfo{
		PhoneNumber:     "+8613800138000",
		PurePhoneNumber: "13800138000",
		CountryCode:     "86",
		Watermark:       wechat.Watermark{Timestamp: 1637744274, AppID: testAppID},
	}
	tests := []struct {
		name, openID, countryCode string
		wantBody                  map[string]any
	}{
		{"countryCode string", "", `"86"`, map[string]any{"code": phoneCode}},
		{"countryCode number", "", `86`, map[string]any{"code": phoneCode}},
		{"with openid", testOpenID, `"86"`, map[string]any{"code": phoneCode, "openid": testOpenID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got recorded
			c, _, _ := fakeWeChat(t, wechat.Config{}, recordAnd(t, &got, answerPhone(tt.countryCode)))
			p, err := c.PhoneNumber(t.Context(), testAccessToken, phoneCode, tt.openID)
			if err != nil {
				t.Fatalf("PhoneNumber = %v", err)
			}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("PhoneNumber mismatch (-want +got):\n%s", diff)
			}
			if got.method != http.MethodPost || got.path != "/sandbox/api/wxa/business/getuserphonenumber" || got.contentType != "application/json" {
				t.Errorf("request = %s %s %s, want POST …/wxa/business/getuserphonenumber application/json", got.method, got.path, got.contentType)
			}
			if diff := cmp.Diff(url.Values{"access_token": {testAccessToken}}, got.query); diff != "" {
				t.Errorf("query mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBody, got.body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}

	errTests := []struct {
		name string
		body string
		want []error
	}{
		{"40029 invalid code", errcodeBody(40029), []error{wechat.ErrInvalidCode}},
		{"40001 token refused", errcodeBody(40001), []error{wechat.ErrTokenInvalid}},
		{"42001 token expired", errcodeBody(42001), []error{wechat.ErrTokenInvalid}},
		{"45011 minute limit", errcodeBody(45011), []error{wechat.ErrRateLimited}},
		{"no phone_info", `{"errcode":0,"errmsg":"ok"}`, []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{"countryCode bool", `{"phone_info":{"phoneNumber":"1","countryCode":true}}`, []error{wechat.ErrUnavailable, wechat.ErrUnexpectedResponse}},
		{"errmsg echoes code and token", `{"errcode":40029,"errmsg":"invalid code ` + phoneCode + " " + testAccessToken + `"}`, []error{wechat.ErrInvalidCode}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", tt.body))
			_, err := c.PhoneNumber(t.Context(), testAccessToken, phoneCode, "")
			if diff := cmp.Diff(errNames(tt.want), errNames(matches(err))); diff != "" {
				t.Errorf("PhoneNumber = %v, sentinels (-want +got):\n%s", err, diff)
			}
			for _, secret := range []string{phoneCode, testAccessToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
		})
	}

	c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
	for _, args := range [][2]string{{"", phoneCode}, {testAccessToken, ""}} {
		if _, err := c.PhoneNumber(t.Context(), args[0], args[1], ""); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("PhoneNumber(%q, %q) = %v, want ErrInvalidRequest", args[0], args[1], err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("requests = %d, want none", n.Load())
	}
}

func TestCheckSessionKey(t *testing.T) {
	var got recorded
	c, _, _ := fakeWeChat(t, wechat.Config{}, recordAnd(t, &got, answer(200, "text/plain", `{"errcode":0,"errmsg":"ok"}`)))
	if err := c.CheckSessionKey(t.Context(), testAccessToken, testOpenID, testKey); err != nil {
		t.Fatalf("CheckSessionKey = %v", err)
	}
	if got.method != http.MethodGet || got.path != "/sandbox/api/wxa/checksession" {
		t.Errorf("request = %s %s, want GET /sandbox/api/wxa/checksession", got.method, got.path)
	}
	// Reference §3.8: HMAC-SHA256 keyed with the key's text, over "".
	want := url.Values{
		"access_token": {testAccessToken},
		"openid":       {testOpenID},
		"signature":    {"7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735"},
		"sig_method":   {"hmac_sha256"},
	}
	if diff := cmp.Diff(want, got.query); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		body string
		want []error
	}{
		{"87009 stale", `{"errcode":87009,"errmsg":"invalid signature rid: 6437cc6f-48613c7c-0bdbbd0d"}`, []error{wechat.ErrSessionKeyStale}},
		{"40001 token refused", errcodeBody(40001), []error{wechat.ErrTokenInvalid}},
		{"-1 busy", errcodeBody(-1), []error{wechat.ErrBusy, wechat.ErrUnavailable}},
		{"success without errcode", `{}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := fakeWeChat(t, wechat.Config{}, answer(200, "text/plain", tt.body))
			err := c.CheckSessionKey(t.Context(), testAccessToken, testOpenID, testKey)
			if diff := cmp.Diff(errNames(tt.want), errNames(matches(err))); diff != "" {
				t.Errorf("CheckSessionKey = %v, sentinels (-want +got):\n%s", err, diff)
			}
			if err != nil && (strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), testAccessToken)) {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}

	c, _, n := fakeWeChat(t, wechat.Config{}, answer(200, "", `{}`))
	for _, args := range [][3]string{{"", testOpenID, testKey}, {testAccessToken, "", testKey}, {testAccessToken, testOpenID, ""}} {
		if err := c.CheckSessionKey(t.Context(), args[0], args[1], args[2]); !errors.Is(err, wechat.ErrInvalidRequest) {
			t.Errorf("CheckSessionKey(%q, %q, %q) = %v, want ErrInvalidRequest", args[0], args[1], args[2], err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("requests = %d, want none", n.Load())
	}
}

// TestRedacted checks that PhoneInfo shows only the last four digits and
// AppToken no token, whatever prints or logs them.
func TestRedacted(t *testing.T) {
	p := wechat.PhoneInfo{PhoneNumber: "+8613800138000", PurePhoneNumber: "13800138000", CountryCode: "86",
		Watermark: wechat.Watermark{Timestamp: 1637744274, AppID: testAppID}}
	tok := wechat.AppToken{Token: testAccessToken, ExpiresAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	type wrapper struct {
		P   wechat.PhoneInfo
		PP  *wechat.PhoneInfo
		T   wechat.AppToken
		TP  *wechat.AppToken
		All []any
	}
	w := wrapper{P: p, PP: &p, T: tok, TP: &tok, All: []any{p, tok}}

	var outputs []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10.3s"} {
		outputs = append(outputs, fmt.Sprintf(format, p), fmt.Sprintf(format, &p), fmt.Sprintf(format, tok),
			fmt.Sprintf(format, &tok), fmt.Sprintf(format, w))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("x", "phone", p, "phone_ptr", &p, "token", tok, "token_ptr", &tok)
	}
	outputs = append(outputs, buf.String())
	for _, out := range outputs {
		for _, leak := range []string{"13800138000", "3800138000", "800138000", "00138000", testAccessToken} {
			if strings.Contains(out, leak) {
				t.Errorf("output %q contains %q", out, leak)
			}
		}
	}
	if got, want := fmt.Sprint(p), "{PhoneNumber:**********8000 PurePhoneNumber:*******8000 CountryCode:86 Watermark:{Timestamp:1637744274 AppID:"+testAppID+"}}"; got != want {
		t.Errorf("Sprint(phone) = %s, want %s", got, want)
	}
	if !strings.Contains(buf.String(), "8000") || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("slog output %q lacks the last digits or the redaction marker", buf.String())
	}
	if got := fmt.Sprint(wechat.PhoneInfo{PhoneNumber: "123"}); !strings.Contains(got, "PhoneNumber:****") {
		t.Errorf("Sprint(short phone) = %s, want it fully masked", got)
	}
}

package wechat

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPostJSON checks the POST convention of reference §1 that later
// endpoints (stable_token, getuserphonenumber) rely on: a JSON body, the
// access_token in the query only.
func TestPostJSON(t *testing.T) {
	type phoneRequest struct {
		Code string `json:"code"`
	}
	type phoneResponse struct {
		PhoneInfo struct {
			PhoneNumber string `json:"phoneNumber"`
		} `json:"phone_info"`
	}
	var gotMethod, gotType string
	var gotQuery url.Values
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotType, gotQuery = r.Method, r.Header.Get("Content-Type"), r.URL.Query()
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &gotBody); err != nil {
			t.Errorf("request body %q is not JSON: %v", b, err)
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000"}}`)
	}))
	defer srv.Close()
	c, err := New(Config{APIBase: srv.URL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var out phoneResponse
	err = c.postJSON(t.Context(), "/wxa/business/getuserphonenumber", url.Values{"access_token": {"TOKEN"}}, phoneRequest{Code: "phonecode"}, &out)
	if err != nil {
		t.Fatalf("postJSON: %v", err)
	}
	if gotMethod != http.MethodPost || gotType != "application/json" {
		t.Errorf("request = %s with Content-Type %q, want POST application/json", gotMethod, gotType)
	}
	if diff := cmp.Diff(url.Values{"access_token": {"TOKEN"}}, gotQuery); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"code": "phonecode"}, gotBody); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
	if out.PhoneInfo.PhoneNumber != "13800138000" {
		t.Errorf("decoded phone = %q, want 13800138000", out.PhoneInfo.PhoneNumber)
	}
}

// TestAccessTokenRedacted checks that an access_token in the query is kept
// out of error text like the secret.
func TestAccessTokenRedacted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := New(Config{APIBase: srv.URL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	const token = "ACCESS_TOKEN_0123456789abcdefghij"
	err = c.getJSON(t.Context(), "/wxa/checksession", url.Values{"access_token": {token}, "openid": {"o1"}}, nil)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("getJSON = %v, want ErrUnavailable", err)
	}
	if got := newRedactor(url.Values{"access_token": {token}}).redact("x " + token + " y"); got != "x [redacted] y" {
		t.Errorf("redact = %q, want %q", got, "x [redacted] y")
	}
}

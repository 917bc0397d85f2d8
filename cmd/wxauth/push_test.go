package main

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/wxauth/wxauth/internal/config"
)

// `wxauth dev` works out of the box for follow-to-login: the sandbox
// pushes a scan of a parametric QR code of oa to wxauth, in safe mode, and
// wxauth verifies, decrypts and answers it.
func TestDevFollowPushes(t *testing.T) {
	origin, stop := startDev(t, t.TempDir(), nil)
	defer stop()
	var oa config.App
	for _, a := range config.DevApps() {
		if a.Name == "oa" {
			oa = a
		}
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {oa.AppID}, "secret": {oa.Secret}}
	status, b := get(t, origin+"/sandbox/api/cgi-bin/token?"+q.Encode(), "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal(b, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("app token = %d %s", status, b)
	}
	status, b = post(t, origin+"/sandbox/api/cgi-bin/qrcode/create?access_token="+url.QueryEscape(tok.AccessToken),
		`{"expire_seconds":60,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"devscene1"}}}`, "")
	if status != 200 {
		t.Fatalf("qrcode/create = %d %s", status, b)
	}
	status, b = post(t, origin+"/sandbox/v1/officialaccount/scan", `{"appid":"`+oa.AppID+`","user":"alice","scene":"devscene1"}`, "")
	var res struct {
		Event     string `json:"event"`
		Delivered bool   `json:"delivered"`
		Status    int    `json:"status"`
	}
	if status != 200 || json.Unmarshal(b, &res) != nil || !res.Delivered || res.Status != 200 || res.Event != "SCAN" {
		t.Fatalf("scan = %d %s, want the push delivered and answered 200", status, b)
	}
}

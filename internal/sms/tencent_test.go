package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tccommon "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// fakeTencent imitates sms.tencentcloudapi.com's SendSms: it checks the
// request as the API 3.0 reference says (POST /, JSON, X-TC-* headers,
// TC3-HMAC-SHA256 recomputed here from the signed headers it names) and
// answers status, or an AuthFailure when the signature is off.
type fakeTencent struct {
	t      *testing.T
	id     string
	key    string
	status string // the per-number Code; "" Ok
	mu     sync.Mutex
	got    []map[string]any
}

func (f *fakeTencent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	answer := func(resp any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"Response": resp})
	}
	fail := func(code, msg string) {
		answer(map[string]any{"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": "req-1"})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail("InvalidParameter", r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		return
	}
	if r.Header.Get("X-TC-Action") != "SendSms" || r.Header.Get("X-TC-Version") != "2021-01-11" || r.Header.Get("X-TC-Region") == "" {
		fail("InvalidAction", "action, version or region header")
		return
	}
	if msg := f.verify(r, body); msg != "" {
		fail("AuthFailure.SignatureFailure", msg)
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		fail("InvalidParameter", err.Error())
		return
	}
	f.mu.Lock()
	f.got = append(f.got, req)
	f.mu.Unlock()
	code := f.status
	if code == "" {
		code = "Ok"
	}
	answer(map[string]any{"SendStatusSet": []map[string]any{{"SerialNo": "s1", "PhoneNumber": "+8613700000001", "Code": code, "Message": "m"}}, "RequestId": "req-2"})
}

// verify recomputes the TC3-HMAC-SHA256 signature
// (cloud.tencent.com/document/api/382/52072) over the headers the request
// says it signed; "" when it matches.
func (f *fakeTencent) verify(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "TC3-HMAC-SHA256 ")
	if !ok {
		return "not TC3-HMAC-SHA256"
	}
	fields := map[string]string{}
	for _, p := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(p, "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 4 || cred[0] != f.id || cred[2] != "sms" || cred[3] != "tc3_request" {
		return "credential " + fields["Credential"]
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil || time.Unix(ts, 0).UTC().Format("2006-01-02") != cred[1] {
		return "timestamp and credential date disagree"
	}
	var canon strings.Builder
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	hash := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	creq := "POST\n/\n\n" + canon.String() + "\n" + fields["SignedHeaders"] + "\n" + hash(body)
	sts := "TC3-HMAC-SHA256\n" + r.Header.Get("X-TC-Timestamp") + "\n" + cred[1] + "/sms/tc3_request\n" + hash([]byte(creq))
	h := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	want := hex.EncodeToString(h(h(h(h([]byte("TC3"+f.key), cred[1]), "sms"), "tc3_request"), sts))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "signature mismatch"
	}
	return ""
}

func TestTencentSend(t *testing.T) {
	f := &fakeTencent{t: t, id: "AKIDtest", key: "secret-key"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := &Tencent{SecretID: "AKIDtest", SecretKey: "secret-key", AppID: "1400000001", TemplateID: "449739", SignName: "wxauth",
		Endpoint: srv.URL, Now: func() time.Time { return time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC) }}
	if err := s.Send(t.Context(), "+8613700000001", "123456", "bind"); err != nil {
		t.Fatalf("Send = %v", err)
	}
	got := f.got[0]
	if got["SmsSdkAppId"] != "1400000001" || got["TemplateId"] != "449739" || got["SignName"] != "wxauth" ||
		got["PhoneNumberSet"].([]any)[0] != "+8613700000001" || got["TemplateParamSet"].([]any)[0] != "123456" {
		t.Errorf("SendSms request = %v", got)
	}

	wrong := *s
	wrong.SecretKey = "not-the-key"
	err := wrong.Send(t.Context(), "+8613700000001", "123456", "bind")
	if err == nil || errors.Is(err, ErrPhoneRejected) || !strings.Contains(err.Error(), "AuthFailure.SignatureFailure") {
		t.Errorf("Send with a wrong key = %v, want an AuthFailure that is no phone refusal", err)
	}

	f.status = "InvalidParameterValue.IncorrectPhoneNumber"
	if err := s.Send(t.Context(), "+8613700000001", "123456", "bind"); !errors.Is(err, ErrPhoneRejected) {
		t.Errorf("Send to a refused number = %v, want ErrPhoneRejected", err)
	}
	f.status = "LimitExceeded.DeliveryFrequencyLimit"
	if err := s.Send(t.Context(), "+8613700000001", "123456", "bind"); err == nil || errors.Is(err, ErrPhoneRejected) {
		t.Errorf("Send refused by a provider limit = %v, want an outage", err)
	}
	if err := s.Send(t.Context(), "+8613700000001", "123456", "bind"); strings.Contains(err.Error(), "123456") || strings.Contains(err.Error(), "secret-key") {
		t.Errorf("error %q shows the code or the key", err)
	}

	// Down: an outage.
	srv.Close()
	if err := s.Send(t.Context(), "+8613700000001", "123456", "bind"); err == nil || errors.Is(err, ErrPhoneRejected) {
		t.Errorf("Send to a closed endpoint = %v", err)
	}
}

// The official SDK's signing (tencentcloud-sdk-go common) passes the
// fake's check: the fake checks what Tencent checks, so it holds
// [Tencent] to the real thing.
func TestTencentFakeAcceptsOfficialSDK(t *testing.T) {
	f := &fakeTencent{t: t, id: "AKIDsdk", key: "sdk-key"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = u.Host
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.SignMethod = "TC3-HMAC-SHA256"
	client := tccommon.NewCommonClient(tccommon.NewCredential("AKIDsdk", "sdk-key"), "ap-guangzhou", cpf)
	req := tchttp.NewCommonRequest("sms", "2021-01-11", "SendSms")
	req.SetContext(context.WithoutCancel(t.Context()))
	if err := req.SetActionParameters(map[string]any{"PhoneNumberSet": []string{"+8613700000001"}, "SmsSdkAppId": "1400000001",
		"SignName": "wxauth", "TemplateId": "449739", "TemplateParamSet": []string{"654321"}}); err != nil {
		t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		t.Fatalf("official SDK against the fake: %v", err)
	}
	if !strings.Contains(string(resp.GetBody()), `"Code":"Ok"`) || len(f.got) != 1 {
		t.Errorf("SDK answer %s, fake saw %v", resp.GetBody(), f.got)
	}
	// And a wrong key through the SDK is refused by the fake.
	bad := tccommon.NewCommonClient(tccommon.NewCredential("AKIDsdk", "wrong"), "ap-guangzhou", cpf)
	if err := bad.Send(req, tchttp.NewCommonResponse()); err == nil || !strings.Contains(err.Error(), "AuthFailure") {
		t.Errorf("SDK with a wrong key = %v, want AuthFailure", err)
	}
}

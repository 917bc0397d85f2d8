package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Alibaba's own worked example of the RPC signature (dysmsapi "签名机制"):
// these parameters under the secret testSecret sign as
// zJDF+Lrzhj/ThnlvIToysFRq6t4=.
func TestAliyunSignatureDocumentedExample(t *testing.T) {
	q := url.Values{
		"AccessKeyId": {"testId"}, "Action": {"SendSms"}, "Format": {"XML"}, "OutId": {"123"},
		"PhoneNumbers": {"15300000001"}, "RegionId": {"cn-hangzhou"}, "SignName": {"阿里云短信测试专用"},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"45e25e9b-0a6f-4070-8c85-2956eda1b466"},
		"SignatureVersion": {"1.0"}, "TemplateCode": {"SMS_71390007"}, "TemplateParam": {`{"customer":"test"}`},
		"Timestamp": {"2017-07-12T02:42:19Z"}, "Version": {"2017-05-25"},
	}
	if got, want := aliyunSignature("GET", q, "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4="; got != want {
		t.Errorf("aliyunSignature = %q, want %q", got, want)
	}
}

// fakeAliyun imitates dysmsapi.aliyuncs.com's SendSms: the RPC common
// parameters, a fresh nonce, a timestamp within 15 minutes, and the
// HMAC-SHA1 signature recomputed here; it answers code.
type fakeAliyun struct {
	id, secret string
	now        time.Time
	code       string // "" OK
	mu         sync.Mutex
	nonces     map[string]bool
	got        []url.Values
}

func (f *fakeAliyun) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"Code": code, "Message": msg, "RequestId": "req-1", "BizId": "b1"})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.ParseForm() != nil {
		answer(400, "MissingParameter", r.Method+" "+r.URL.Path)
		return
	}
	q := r.PostForm
	for k, v := range map[string]string{"Action": "SendSms", "Version": "2017-05-25", "Format": "JSON",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0"} {
		if q.Get(k) != v {
			answer(400, "InvalidParameter", k)
			return
		}
	}
	if q.Get("AccessKeyId") != f.id {
		answer(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp"))
	if err != nil || ts.Sub(f.now).Abs() > 15*time.Minute {
		answer(400, "InvalidTimeStamp.Expired", q.Get("Timestamp"))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := q.Get("SignatureNonce"); n == "" || f.nonces[n] {
		answer(400, "SignatureNonceUsed", "nonce")
		return
	}
	f.nonces[q.Get("SignatureNonce")] = true
	// The documented algorithm, written out again here.
	var names []string
	for k := range q {
		if k != "Signature" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	enc := func(s string) string {
		return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
	}
	var pairs []string
	for _, k := range names {
		pairs = append(pairs, enc(k)+"="+enc(q.Get(k)))
	}
	m := hmac.New(sha1.New, []byte(f.secret+"&"))
	m.Write([]byte("POST&%2F&" + enc(strings.Join(pairs, "&"))))
	if !hmac.Equal([]byte(base64.StdEncoding.EncodeToString(m.Sum(nil))), []byte(q.Get("Signature"))) {
		answer(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return
	}
	f.got = append(f.got, q)
	if f.code != "" {
		answer(200, f.code, "refused")
		return
	}
	answer(200, "OK", "OK")
}

func TestAliyunSend(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	f := &fakeAliyun{id: "LTAItest", secret: "s3cret*~ +", now: now, nonces: map[string]bool{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := &Aliyun{AccessKeyID: "LTAItest", AccessKeySecret: "s3cret*~ +", TemplateCode: "SMS_1234", SignName: "阿里云短信测试",
		Endpoint: srv.URL, Now: func() time.Time { return now }}
	for _, tc := range []struct{ phone, want string }{{"+8613700000001", "13700000001"}, {"+85291234567", "85291234567"}} {
		if err := s.Send(t.Context(), tc.phone, "123456", "bind"); err != nil {
			t.Fatalf("Send(%s) = %v", tc.phone, err)
		}
		got := f.got[len(f.got)-1]
		if got.Get("PhoneNumbers") != tc.want || got.Get("TemplateCode") != "SMS_1234" || got.Get("SignName") != "阿里云短信测试" ||
			got.Get("TemplateParam") != `{"code":"123456"}` || got.Get("RegionId") != "cn-hangzhou" {
			t.Errorf("SendSms(%s) parameters = %v", tc.phone, got)
		}
	}

	wrong := *s
	wrong.AccessKeySecret = "other"
	if err := wrong.Send(t.Context(), "+8613700000001", "123456", "bind"); err == nil || errors.Is(err, ErrPhoneRejected) ||
		!strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("Send with a wrong secret = %v, want SignatureDoesNotMatch, no phone refusal", err)
	}
	f.code = "isv.MOBILE_NUMBER_ILLEGAL"
	if err := s.Send(t.Context(), "+8613700000001", "123456", "bind"); !errors.Is(err, ErrPhoneRejected) {
		t.Errorf("Send to an illegal number = %v, want ErrPhoneRejected", err)
	}
	f.code = "isv.BUSINESS_LIMIT_CONTROL"
	if err := s.Send(t.Context(), "+8613700000001", "123456", "bind"); err == nil || errors.Is(err, ErrPhoneRejected) || strings.Contains(err.Error(), "123456") {
		t.Errorf("Send over the provider's flow control = %v, want an outage without the code", err)
	}
	late := *s
	late.Now = func() time.Time { return now.Add(time.Hour) }
	if err := late.Send(t.Context(), "+8613700000001", "123456", "bind"); err == nil || !strings.Contains(err.Error(), "InvalidTimeStamp") {
		t.Errorf("Send with a clock an hour off = %v", err)
	}
}

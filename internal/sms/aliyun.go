package sms

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Aliyun sends codes through Alibaba Cloud SMS, dysmsapi 2017-05-25 SendSms
// (help.aliyun.com/document_detail/419273.html), an RPC-style call signed
// with HMAC-SHA1 as Alibaba documents for RPC APIs
// (help.aliyun.com/document_detail/315526.html). The template takes the
// code as ${code}. (The official Go SDK is not in our module proxy; the
// call is one form POST.)
type Aliyun struct {
	// AccessKeyID and AccessKeySecret are the RAM user's key
	// (WXAUTH_SMS_ACCESS_KEY_ID/SECRET).
	AccessKeyID, AccessKeySecret string
	// TemplateCode (SMS_…) and SignName are the approved template and
	// signature.
	TemplateCode, SignName string
	// Region; empty: cn-hangzhou.
	Region string
	// Endpoint; empty: https://dysmsapi.aliyuncs.com (tests: a fake).
	Endpoint string
	// HTTPClient; nil: one with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock that stamps requests; nil: time.Now.
	Now func() time.Time
}

var _ Sender = (*Aliyun)(nil)

// aliyunPhoneErrors are the Codes of SendSms that refuse the number.
var aliyunPhoneErrors = map[string]bool{
	"isv.MOBILE_NUMBER_ILLEGAL":   true,
	"isv.BLACK_KEY_CONTROL_LIMIT": true,
	"isv.PHONENUMBER_BLACKLIST":   true,
	"isv.MOBILE_COUNT_OVER_LIMIT": true,
}

// aliyunPhone is how dysmsapi wants a number: mainland China without its
// country code, others with it, never with "+".
func aliyunPhone(e164 string) string {
	p := strings.TrimPrefix(e164, "+")
	if rest, ok := strings.CutPrefix(p, "86"); ok && len(rest) == 11 {
		return rest
	}
	return p
}

// Send implements [Sender].
func (a *Aliyun) Send(ctx context.Context, phone, code, purpose string) error {
	param, err := json.Marshal(map[string]string{"code": code})
	if err != nil {
		return fmt.Errorf("aliyun sms: %w", err)
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return fmt.Errorf("aliyun sms: %w", err)
	}
	region := a.Region
	if region == "" {
		region = "cn-hangzhou"
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	q := url.Values{
		"AccessKeyId": {a.AccessKeyID}, "Action": {"SendSms"}, "Format": {"JSON"}, "RegionId": {region},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {hex.EncodeToString(nonce[:])}, "SignatureVersion": {"1.0"},
		"Timestamp": {now().UTC().Format("2006-01-02T15:04:05Z")}, "Version": {"2017-05-25"},
		"PhoneNumbers": {aliyunPhone(phone)}, "SignName": {a.SignName}, "TemplateCode": {a.TemplateCode},
		"TemplateParam": {string(param)},
	}
	q.Set("Signature", aliyunSignature(http.MethodPost, q, a.AccessKeySecret))
	endpoint := a.Endpoint
	if endpoint == "" {
		endpoint = "https://dysmsapi.aliyuncs.com"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", strings.NewReader(q.Encode()))
	if err != nil {
		return fmt.Errorf("aliyun sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, b, err := send(a.HTTPClient, req)
	if err != nil {
		return fmt.Errorf("aliyun sms: %w", err)
	}
	var out struct{ Code, Message, RequestId string }
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("aliyun sms: HTTP %d, not JSON: %w", status, err)
	}
	if out.Code == "OK" && status == http.StatusOK {
		return nil
	}
	err = fmt.Errorf("aliyun sms: HTTP %d %s: %s (request %s)", status, out.Code, out.Message, out.RequestId)
	if aliyunPhoneErrors[out.Code] {
		return fmt.Errorf("%w: %w", err, ErrPhoneRejected)
	}
	return err
}

// aliyunSignature signs the parameters q (Signature excluded) of an RPC
// call: HMAC-SHA1 under secret+"&" of METHOD&%2F&percent(canonical query),
// the canonical query being the parameters sorted by name, each name and
// value percent-encoded as RFC 3986 says (space %20, * %2A, ~ kept).
func aliyunSignature(method string, q url.Values, secret string) string {
	names := make([]string, 0, len(q))
	for k := range q {
		if k != "Signature" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = percent(k) + "=" + percent(q.Get(k))
	}
	toSign := method + "&" + percent("/") + "&" + percent(strings.Join(parts, "&"))
	h := hmac.New(sha1.New, []byte(secret+"&"))
	h.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// percent is RFC 3986 percent-encoding, as Alibaba's RPC signature wants.
func percent(s string) string {
	e := url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(e)
}

// String hides the access key secret from logs and %v.
func (a *Aliyun) String() string { return "aliyun sms (sign " + a.SignName + ")" }

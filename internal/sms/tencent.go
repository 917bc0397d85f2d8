package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Tencent sends codes through Tencent Cloud SMS, API 2021-01-11 SendSms
// (cloud.tencent.com/document/api/382/55981), signed with TC3-HMAC-SHA256
// (cloud.tencent.com/document/api/382/52072). The template takes the code
// as its one parameter {1}.
type Tencent struct {
	// SecretID and SecretKey are the API key (WXAUTH_SMS_SECRET_ID/KEY).
	SecretID, SecretKey string
	// AppID is the SmsSdkAppId, TemplateID and SignName the approved
	// template and signature.
	AppID, TemplateID, SignName string
	// Region; empty: ap-guangzhou.
	Region string
	// Endpoint; empty: https://sms.tencentcloudapi.com (tests: a fake).
	Endpoint string
	// HTTPClient; nil: one with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock that stamps requests; nil: time.Now.
	Now func() time.Time
}

var _ Sender = (*Tencent)(nil)

// tencentPhoneErrors are the codes of SendSms (overall or per number) that
// refuse the number itself.
var tencentPhoneErrors = map[string]bool{
	"InvalidParameterValue.IncorrectPhoneNumber":                       true,
	"FailedOperation.PhoneNumberInBlacklist":                           true,
	"UnsupportedOperation.UnsupportedRegion":                           true,
	"UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone":        true,
	"UnsupportedOperation.InternationalTemplateToChineseMainlandPhone": true,
}

// Send implements [Sender].
func (t *Tencent) Send(ctx context.Context, phone, code, purpose string) error {
	body, err := json.Marshal(map[string]any{
		"PhoneNumberSet": []string{phone}, "SmsSdkAppId": t.AppID, "SignName": t.SignName,
		"TemplateId": t.TemplateID, "TemplateParamSet": []string{code},
	})
	if err != nil {
		return fmt.Errorf("tencent sms: %w", err)
	}
	endpoint := t.Endpoint
	if endpoint == "" {
		endpoint = "https://sms.tencentcloudapi.com"
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("tencent sms: %w", err)
	}
	region := t.Region
	if region == "" {
		region = "ap-guangzhou"
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.Scheme+"://"+u.Host+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("tencent sms: %w", err)
	}
	ts := now().Unix()
	const contentType = "application/json; charset=utf-8"
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-TC-Action", "SendSms")
	req.Header.Set("X-TC-Version", "2021-01-11")
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-TC-Region", region)
	req.Header.Set("Authorization", tc3Authorization(t.SecretID, t.SecretKey, "sms", u.Host, contentType, ts, body))
	status, b, err := send(t.HTTPClient, req)
	if err != nil {
		return fmt.Errorf("tencent sms: %w", err)
	}
	var out struct {
		Response struct {
			Error         *struct{ Code, Message string }
			SendStatusSet []struct{ Code, Message string }
			RequestId     string
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("tencent sms: HTTP %d, not JSON: %w", status, err)
	}
	r := out.Response
	code2, msg := "", ""
	switch {
	case r.Error != nil:
		code2, msg = r.Error.Code, r.Error.Message
	case len(r.SendStatusSet) != 1:
		return fmt.Errorf("tencent sms: HTTP %d, %d statuses for one number (request %s)", status, len(r.SendStatusSet), r.RequestId)
	case r.SendStatusSet[0].Code == "Ok":
		return nil
	default:
		code2, msg = r.SendStatusSet[0].Code, r.SendStatusSet[0].Message
	}
	err = fmt.Errorf("tencent sms: %s: %s (request %s)", code2, msg, r.RequestId)
	if tencentPhoneErrors[code2] {
		return fmt.Errorf("%w: %w", err, ErrPhoneRejected)
	}
	return err
}

// tc3Authorization is the Authorization header of a Tencent Cloud API 3.0
// POST of body (Content-Type contentType) to host at Unix time ts, signed
// with TC3-HMAC-SHA256 over the headers content-type and host
// (cloud.tencent.com/document/api/382/52072).
func tc3Authorization(secretID, secretKey, service, host, contentType string, ts int64, body []byte) string {
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	payload := sha256.Sum256(body)
	canonical := "POST\n/\n\n" + "content-type:" + contentType + "\nhost:" + host + "\n\n" +
		"content-type;host\n" + hex.EncodeToString(payload[:])
	scope := date + "/" + service + "/tc3_request"
	creq := sha256.Sum256([]byte(canonical))
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	k := mac(mac(mac([]byte("TC3"+secretKey), date), service), "tc3_request")
	sig := hex.EncodeToString(mac(k, toSign))
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedHeaders=content-type;host, Signature=" + sig
}

// String hides the secret key from logs and %v.
func (t *Tencent) String() string { return "tencent sms (app " + t.AppID + ")" }

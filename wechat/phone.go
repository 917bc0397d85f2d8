package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
)

const endpointPhoneNumber = "/wxa/business/getuserphonenumber"

// PhoneInfo is a user's phone number, from [Client.PhoneNumber] or
// [DecryptPhone] (reference §3.5, §3.7).
//
// The numbers are personal data: PhoneInfo shows only their last four
// digits when formatted with package fmt (every verb) or logged with
// log/slog; only reading the fields gives them.
type PhoneInfo struct {
	// PhoneNumber is the number as bound, with the country prefix for
	// numbers outside mainland China.
	PhoneNumber string
	// PurePhoneNumber is the number without its country code.
	PurePhoneNumber string
	// CountryCode is e.g. "86", whether WeChat sent it as a string or a
	// number.
	CountryCode string
	// Watermark says for which app and when the user granted the number.
	// Its AppID must be the caller's app: [DecryptPhone] checks it; callers
	// of [Client.PhoneNumber] may.
	Watermark Watermark
}

// Watermark is the provenance stamped into WeChat's user data (reference
// §3.5, §3.7).
type Watermark struct {
	// Timestamp is when the data was produced, in Unix seconds.
	Timestamp int64
	// AppID is the app the data was produced for.
	AppID string
}

// PhoneNumber exchanges a code from the Mini Program's getPhoneNumber button
// for the user's number (POST /wxa/business/getuserphonenumber, reference
// §3.5). accessToken is the app access token (see [TokenManager.Do]);
// openID, if not empty, makes WeChat check that the code belongs to that
// user. Like a login code, a phone code works once and is never retried.
//
// Empty accessToken or code are [ErrInvalidRequest] and no call is made; a
// rejected or used code is [ErrInvalidCode]; a refused access token is
// [ErrTokenInvalid]; a success without a phone number is
// [ErrUnexpectedResponse].
func (c *Client) PhoneNumber(ctx context.Context, accessToken, code, openID string) (PhoneInfo, error) {
	switch {
	case accessToken == "":
		return PhoneInfo{}, fmt.Errorf("%w: phone number: empty access token", ErrInvalidRequest)
	case code == "":
		return PhoneInfo{}, fmt.Errorf("%w: phone number: empty code", ErrInvalidRequest)
	}
	req := request{
		method:   "POST",
		endpoint: endpointPhoneNumber,
		query:    url.Values{"access_token": {accessToken}},
		body:     phoneNumberRequest{Code: code, OpenID: openID},
		secrets:  []string{code},
	}
	var resp phoneNumberResponse
	if err := c.do(ctx, req, &resp); err != nil {
		return PhoneInfo{}, err
	}
	return resp.PhoneInfo.phoneInfo(), nil
}

type phoneNumberRequest struct {
	Code   string `json:"code"`
	OpenID string `json:"openid,omitempty"`
}

type phoneNumberResponse struct {
	PhoneInfo phoneJSON `json:"phone_info"`
}

func (r *phoneNumberResponse) validate() error {
	if r.PhoneInfo.PhoneNumber == "" {
		return errMissingField("phone_info.phoneNumber")
	}
	return nil
}

// phoneJSON is a phone number as WeChat sends it, in getuserphonenumber's
// phone_info and in decrypted data.
type phoneJSON struct {
	PhoneNumber     string        `json:"phoneNumber"`
	PurePhoneNumber string        `json:"purePhoneNumber"`
	CountryCode     lenientString `json:"countryCode"`
	Watermark       watermarkJSON `json:"watermark"`
}

func (p phoneJSON) phoneInfo() PhoneInfo {
	return PhoneInfo{
		PhoneNumber:     p.PhoneNumber,
		PurePhoneNumber: p.PurePhoneNumber,
		CountryCode:     string(p.CountryCode),
		Watermark:       p.Watermark.watermark(),
	}
}

type watermarkJSON struct {
	Timestamp int64  `json:"timestamp"`
	AppID     string `json:"appid"`
}

func (w watermarkJSON) watermark() Watermark { return Watermark(w) }

// lenientString decodes a JSON string or number (countryCode is documented
// as a string but shown as a number in an example, reference §3.5).
type lenientString string

func (s *lenientString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = lenientString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("countryCode is neither a string nor a number")
	}
	*s = lenientString(n.String())
	return nil
}

// maskPhone keeps the last four characters of a phone number.
func maskPhone(n string) string {
	if n == "" {
		return ""
	}
	r := []rune(n)
	if len(r) <= 4 {
		return "****"
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

// LogValue implements [slog.LogValuer]: the numbers masked but for their
// last four digits, the country code and the watermark.
func (p PhoneInfo) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("phone_number", maskPhone(p.PhoneNumber)),
		slog.String("pure_phone_number", maskPhone(p.PurePhoneNumber)),
		slog.String("country_code", p.CountryCode),
		slog.Group("watermark", slog.Int64("timestamp", p.Watermark.Timestamp), slog.String("appid", p.Watermark.AppID)),
	)
}

// String returns the PhoneInfo with its numbers masked but for their last
// four digits.
func (p PhoneInfo) String() string {
	return fmt.Sprintf("{PhoneNumber:%s PurePhoneNumber:%s CountryCode:%s Watermark:{Timestamp:%d AppID:%s}}",
		maskPhone(p.PhoneNumber), maskPhone(p.PurePhoneNumber), p.CountryCode, p.Watermark.Timestamp, p.Watermark.AppID)
}

// GoString returns the PhoneInfo as Go syntax with its numbers masked.
func (p PhoneInfo) GoString() string {
	return fmt.Sprintf("wechat.PhoneInfo{PhoneNumber:%q, PurePhoneNumber:%q, CountryCode:%q, Watermark:%#v}",
		maskPhone(p.PhoneNumber), maskPhone(p.PurePhoneNumber), p.CountryCode, p.Watermark)
}

// Format implements [fmt.Formatter] so that no verb or flag prints the
// numbers: %#v gives GoString, every other verb String.
func (p PhoneInfo) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, p.GoString())
		return
	}
	io.WriteString(f, p.String())
}

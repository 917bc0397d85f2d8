package sandbox

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// phoneCodeBytes makes phone codes 64 hex characters, as observed
// (reference §3.5).
const phoneCodeBytes = 32

// phoneCode is what the getPhoneNumber button gave one user of one app
// (reference §3.5).
type phoneCode struct {
	appID, user, phone string
	issued, expires    time.Time
	used               bool
}

// IssuePhoneCode returns the code the getPhoneNumber button would give user
// in the Mini Program appID: 64 hex characters, single use, valid for the
// configured CodeTTL, for getuserphonenumber only (reference §3.5). phone,
// if not empty, is answered instead of the user's own number, in E.164 form
// ("+8613912345678"; mainland numbers must be 11 digits starting with 1).
// The user need not have logged in. Unknown apps and users fail with
// [ErrNotFound].
func (s *Sandbox) IssuePhoneCode(appID, user, phone string) (string, error) {
	if phone != "" {
		if _, _, err := splitPhone(phone); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.miniProgramUserLocked(appID, user)
	if err != nil {
		return "", err
	}
	if phone == "" {
		phone = u.phone
	}
	now := s.now()
	s.sweepCodesLocked(now)
	b := make([]byte, phoneCodeBytes)
	for range 16 {
		if err := s.readRand(b); err != nil {
			return "", fmt.Errorf("issue phone code: %w", err)
		}
		code := hex.EncodeToString(b)
		if _, taken := s.phoneCodes[code]; taken {
			continue
		}
		s.phoneCodes[code] = &phoneCode{appID: appID, user: user, phone: phone, issued: now, expires: now.Add(s.codeTTL)}
		return code, nil
	}
	return "", errors.New("issue phone code: random source repeats itself")
}

// miniProgramUserLocked finds user for an operation in the Mini Program
// appID: unknown apps and users are [ErrNotFound], other app kinds invalid.
// s.mu must be held.
func (s *Sandbox) miniProgramUserLocked(appID, name string) (*user, error) {
	app, ok := s.apps[appID]
	if !ok {
		return nil, fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	if app.Kind != KindMiniProgram {
		return nil, fmt.Errorf("app %q is a %s, not a %s", appID, app.Kind, KindMiniProgram)
	}
	u, ok := s.users[name]
	if !ok {
		return nil, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return u, nil
}

// watermark proves which app encrypted or fetched user data, and when
// (reference §3.5, §3.7).
type watermark struct {
	Timestamp int64  `json:"timestamp"`
	AppID     string `json:"appid"`
}

// phoneInfo is a phone number as getuserphonenumber and encrypted phone
// data show it (reference §3.5, §3.7).
type phoneInfo struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       watermark `json:"watermark"`
}

// newPhoneInfo renders an E.164 number that IssuePhoneCode or AddUser
// accepted. countryCode is a string (reference §3.5: the doc table, SDKs
// and reports agree; only the doc example shows a number). phoneNumber
// carries the country prefix for numbers outside mainland China, written
// "+" and digits (the reference says only that it "includes the country
// prefix").
func newPhoneInfo(phone, appID string, at time.Time) phoneInfo {
	cc, national, _ := splitPhone(phone)
	number := national
	if cc != "86" {
		number = "+" + cc + national
	}
	return phoneInfo{
		PhoneNumber:     number,
		PurePhoneNumber: national,
		CountryCode:     cc,
		Watermark:       watermark{Timestamp: at.Unix(), AppID: appID},
	}
}

// phoneAnswer is getuserphonenumber's success body (reference §3.5).
type phoneAnswer struct {
	Errcode   int       `json:"errcode"`
	Errmsg    string    `json:"errmsg"`
	PhoneInfo phoneInfo `json:"phone_info"`
}

// getUserPhoneNumber imitates POST /wxa/business/getuserphonenumber
// (reference §3.5, §7 item 3). Checks run in this order: app access token
// (41001, 40001, 42001), body (47001 if not JSON or without code), code
// (40029 if unknown, of another app, expired or used; a wx.login code is
// unknown here), openid (40029 if given and not the code's user: the
// reference says WeChat checks it but not with which errcode, and 40029 is
// what a code that is not valid for the caller answers everywhere else).
// The watermark's timestamp is when the code was issued, i.e. when the user
// tapped the button. Rejected calls do not consume the code.
func (s *Sandbox) getUserPhoneNumber(r *http.Request) any {
	var req struct {
		Code   string `json:"code"`
		OpenID string `json:"openid"`
	}
	bodyErr := readWeChatJSON(r, &req) // read before taking the lock

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	tok, code := s.checkAppTokenLocked(r.URL.Query().Get("access_token"), now)
	switch {
	case code != 0:
		return code
	case bodyErr != 0:
		return bodyErr
	case req.Code == "":
		return errcode(47001)
	}
	c, ok := s.phoneCodes[req.Code]
	if !ok || c.appID != tok.appID || c.used || !now.Before(c.expires) {
		return errcode(40029)
	}
	if req.OpenID != "" && req.OpenID != openID(c.appID, c.user) {
		return errcode(40029)
	}
	c.used = true
	return phoneAnswer{Errmsg: "ok", PhoneInfo: newPhoneInfo(c.phone, c.appID, c.issued)}
}

// twoDigitCountryCodes are the E.164 country codes of two digits; 1 and 7
// are the one-digit ones and every other code has three digits (ITU-T
// E.164 assignments).
var twoDigitCountryCodes = map[string]bool{
	"20": true, "27": true,
	"30": true, "31": true, "32": true, "33": true, "34": true, "36": true, "39": true,
	"40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true, "48": true, "49": true,
	"51": true, "52": true, "53": true, "54": true, "55": true, "56": true, "57": true, "58": true,
	"60": true, "61": true, "62": true, "63": true, "64": true, "65": true, "66": true,
	"81": true, "82": true, "84": true, "86": true,
	"90": true, "91": true, "92": true, "93": true, "94": true, "95": true, "98": true,
}

// splitPhone splits an E.164 number "+8613800000001" into its country code
// "86" and national number "13800000001". It accepts "+" and 8–15 digits,
// the first not 0; mainland China numbers must be mobile numbers, 11
// digits starting with 1, as WeChat accounts are bound to.
func splitPhone(phone string) (cc, national string, err error) {
	digits, ok := strings.CutPrefix(phone, "+")
	switch {
	case !ok:
		return "", "", fmt.Errorf("phone %q does not start with + and a country code", phone)
	case len(digits) < 8 || len(digits) > 15 || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		return "", "", fmt.Errorf("phone %q is not + and 8 to 15 digits", phone)
	case digits[0] == '0':
		return "", "", fmt.Errorf("phone %q has no country code (it starts with +0)", phone)
	}
	n := 3
	switch {
	case digits[0] == '1' || digits[0] == '7':
		n = 1
	case twoDigitCountryCodes[digits[:2]]:
		n = 2
	}
	cc, national = digits[:n], digits[n:]
	if cc == "86" && (len(national) != 11 || national[0] != '1') {
		return "", "", fmt.Errorf("phone %q is not a mainland China mobile number (+86 and 11 digits starting with 1)", phone)
	}
	return cc, national, nil
}

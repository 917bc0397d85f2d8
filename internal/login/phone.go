package login

import (
	"strings"

	"github.com/wxauth/wxauth/wechat"
)

// errBadPhone answers a phone number E164 refuses.
var errBadPhone = ErrInvalidRequest.Say(`"phone" must be in E.164 form: +86 and 11 digits starting with 1, or + and 8 to 15 digits`)

// E164 is the one phone normalisation of wxauth: it writes a number as
// "+<country><number>" and checks it. number is either a whole "+…" number
// (countryCode empty), or a national number with its country calling code
// (countryCode with or without "+"; empty means 86, as WeChat omits it for
// mainland numbers). Accepted: "+86" and 11 digits starting with 1 (a
// mainland mobile number: WeChat accounts are bound to those, and SMS goes
// only to those), or "+" and 8 to 15 digits of another country, the first
// not 0. No spaces or dashes: they are the caller's to strip.
func E164(countryCode, number string) (string, bool) {
	var p string
	if countryCode == "" && strings.HasPrefix(number, "+") {
		p = number
	} else {
		cc := strings.TrimPrefix(countryCode, "+")
		if cc == "" {
			cc = "86"
		}
		p = "+" + cc + number
	}
	digits := p[1:]
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	// No other country code starts with 86 (ITU-T E.164 assignments).
	if national, cn := strings.CutPrefix(digits, "86"); cn && (len(national) != 11 || national[0] != '1') {
		return "", false
	}
	return p, true
}

// ValidPhone reports whether p is already a number [E164] accepts.
func ValidPhone(p string) bool {
	got, ok := E164("", p)
	return ok && got == p
}

// phoneFromWeChat is the number getuserphonenumber or the legacy
// encrypted data gave, in E.164.
func phoneFromWeChat(info wechat.PhoneInfo) (string, error) {
	cc := strings.TrimPrefix(strings.TrimSpace(info.CountryCode), "+")
	num := strings.TrimSpace(info.PurePhoneNumber)
	if num == "" {
		num = strings.TrimPrefix(strings.TrimSpace(info.PhoneNumber), "+"+cc)
	}
	p, ok := E164(cc, num)
	if !ok {
		return "", ErrInvalidRequest.Say("WeChat returned a phone number this service does not accept")
	}
	return p, nil
}

package bind

import (
	"fmt"
	"strings"

	"github.com/wxauth/wxauth/wechat"
)

// ValidPhone reports whether p is a phone number this service sends codes
// to, in E.164 form: "+86" and 11 digits starting with 1 (a mainland China
// mobile number, as WeChat accounts are bound to), or "+" and 8 to 15
// digits of another country, the first not 0.
func ValidPhone(p string) bool {
	digits, ok := strings.CutPrefix(p, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	// No other country code starts with 86 (ITU-T E.164 assignments).
	if national, cn := strings.CutPrefix(digits, "86"); cn {
		return len(national) == 11 && national[0] == '1'
	}
	return true
}

// phoneFromWeChat writes the number getuserphonenumber answered as E.164,
// as package mpdata does for the mini program phone endpoint (this package
// cannot import mpdata: login imports this one).
func phoneFromWeChat(info wechat.PhoneInfo) (string, error) {
	cc := strings.TrimPrefix(strings.TrimSpace(info.CountryCode), "+")
	if cc == "" {
		cc = "86"
	}
	num := strings.TrimSpace(info.PurePhoneNumber)
	if num == "" {
		num = strings.TrimPrefix(strings.TrimSpace(info.PhoneNumber), "+"+cc)
	}
	p := "+" + cc + num
	if !ValidPhone(p) {
		return "", fmt.Errorf("%w: WeChat returned an unusable phone number", ErrInvalidRequest)
	}
	return p, nil
}

// maskPhone hides all but the last four digits, for logs.
func maskPhone(p string) string {
	if len(p) <= 4 {
		return strings.Repeat("*", len(p))
	}
	return strings.Repeat("*", len(p)-4) + p[len(p)-4:]
}

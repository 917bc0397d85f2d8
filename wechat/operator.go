package wechat

import (
	"errors"
	"strings"
)

// consoleWhitelist says where WeChat's console keeps the API IP whitelist.
const consoleWhitelist = "the API IP whitelist in WeChat's console (mp.weixin.qq.com: Development > Basic configuration / Development interface management > IP whitelist)"

// OperatorAction says, in one sentence for a log line, what an operator
// must do about err, or "" when err is not an [ErrConfiguration]. It holds
// no secret. For an IP refusal it names the egress address WeChat saw,
// when WeChat's errmsg gives it ("invalid ip 203.0.113.7 …").
func OperatorAction(err error) string {
	if !errors.Is(err, ErrConfiguration) {
		return ""
	}
	var ae *APIError
	code := 0
	if errors.As(err, &ae) {
		code = ae.Code
	}
	switch {
	case errors.Is(err, ErrIPNotAllowed):
		ip := "this server's egress IP"
		if a := EgressIP(err); a != "" {
			ip += " " + a
		}
		switch code {
		case 89503:
			return "WeChat asked the Official Account's admin to confirm " + ip + " (a template message was sent to them): have them confirm it, or add the address to " + consoleWhitelist
		case 89501:
			return "the Official Account's admin has not yet confirmed " + ip + ": have them confirm it, or add the address to " + consoleWhitelist
		case 89506:
			return "the Official Account's admin refused " + ip + ", now blocked for 24 hours: add the address to " + consoleWhitelist
		case 89507:
			return "the Official Account's admin refused " + ip + ", now blocked for 1 hour: add the address to " + consoleWhitelist
		}
		return "add " + ip + " to " + consoleWhitelist + "; every address wxauth calls WeChat from must be listed"
	case errors.Is(err, ErrBadCredential):
		return "check the app's appid and secret in wxauth's configuration against WeChat's console (reset the AppSecret there if it was changed or frozen)"
	case errors.Is(err, ErrAccountRestricted):
		switch code {
		case 48004:
			return "WeChat has banned this API for the account: see the notice in WeChat's console (mp.weixin.qq.com) and appeal there"
		case 50004:
			return "WeChat has banned the account's access token use (a punishment): see the notice in WeChat's console and appeal there"
		case 50007:
			return "the WeChat account is frozen: unfreeze it in WeChat's console (mp.weixin.qq.com)"
		case 61024:
			return "the account is managed by a third-party platform, which refuses the account's own token calls: use the platform's tokens or revoke its authorization in WeChat's console"
		}
		return "WeChat restricts this account: see WeChat's console (mp.weixin.qq.com)"
	case errors.Is(err, ErrAPIUnauthorized):
		return "the app lacks permission for this WeChat API (the phone number API needs a verified Mini Program with the feature enabled): enable it in WeChat's console"
	case errors.Is(err, ErrRetiredHost):
		return "the call reached a retired WeChat address: do not pin WeChat's IPs (hosts file, fixed addresses, stale DNS cache); let DNS resolve the hosts of wechat.api_base"
	case errors.Is(err, ErrNotWeChat):
		return "the answer was not WeChat's (HTTP 200, empty or not JSON): check wechat.api_base and any proxy between wxauth and WeChat"
	}
	return "an operator must check the app's configuration on WeChat's side"
}

// EgressIP returns the caller address WeChat names in an IP refusal's
// errmsg ("invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in
// whitelist"), or "".
func EgressIP(err error) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return ""
	}
	_, rest, ok := strings.Cut(ae.Msg, "invalid ip ")
	if !ok {
		return ""
	}
	ip, _, _ := strings.Cut(rest, " ")
	ip = strings.TrimRight(ip, ",")
	if ip == "" || strings.ContainsAny(ip, "[]") {
		return ""
	}
	return ip
}

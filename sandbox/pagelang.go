package sandbox

import (
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// The pages the sandbox shows a person (the consent page, the error page,
// the browser-user page) speak Chinese or English, as WeChat speaks the
// phone's language (docs/sandbox.md "Languages").
const (
	langEN = "en"
	langZH = "zh"
)

// pageLang picks a page's language: the first of the browser's
// Accept-Language ranges, by q-value, that is Chinese (zh, zh-CN, zh-TW …)
// or English; without either, WeChat's in-app browser's
// "Language/zh_CN" in its User-Agent; else English.
func pageLang(r *http.Request) string {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err == nil {
		for _, t := range tags { // sorted by q-value, highest first
			switch base, _ := t.Base(); base.String() {
			case langZH:
				return langZH
			case langEN:
				return langEN
			}
		}
	}
	if ua := r.UserAgent(); strings.Contains(ua, "MicroMessenger") && strings.Contains(ua, "Language/zh") {
		return langZH
	}
	return langEN
}

// htmlLang is the lang attribute of a page in lang.
func htmlLang(lang string) string {
	if lang == langZH {
		return "zh-CN"
	}
	return "en"
}

// pageMessages are the words of the sandbox's pages, one table per
// language with the same keys (TestPageMessagesComplete); a page reads
// them as {{.T.key}}, formats with {{printf .T.key …}}.
var pageMessages = map[string]map[string]string{
	langEN: {
		"tag":           "WeChat sandbox",
		"consent_title": "Sign in to %s · WeChat sandbox",
		"lead_base":     "wants your openid in this Official Account. Real WeChat asks nothing for snsapi_base; the sandbox asks which test user you are.",
		"lead_userinfo": "asks for your nickname and profile photo.",
		"lead_login":    "asks you to scan a QR code with WeChat to sign in. In the sandbox, pick the test user who scans.",
		"returns_to":    "returns to",
		"allow_as":      "Allow as %s",
		"snapshot":      "snapshot-page virtual user (is_snapshotuser)",
		"deny":          "Deny",
		"noscript":      "This page needs JavaScript. Scripts can add &sandbox_user=alice to the URL instead.",
		"declined":      "You declined. WeChat does not return to the site: this page stays.",
		"failed":        "Could not continue: ",
		"error_title":   "Cannot open this page · WeChat sandbox",
		"error_heading": "This page cannot be opened",
		"error_meta":    "WeChat shows an error page instead of redirecting when an authorization link is wrong.",
		"user_title":    "WeChat user of this browser · WeChat sandbox",
		"user_heading":  "WeChat user of this browser",
		"user_current":  "This browser is logged into WeChat as %s: snsapi_base authorizations are approved at once for this user, as WeChat does for the phone's account.",
		"user_none":     "No WeChat user is set for this browser: every authorization page asks which test user you are.",
		"user_switch":   "Switch to %s",
		"user_clear":    "Forget the user",
	},
	langZH: {
		"tag":           "微信沙箱",
		"consent_title": "登录 %s · 微信沙箱",
		"lead_base":     "想获取你在该公众号的 openid。真实的微信对 snsapi_base 不会询问；沙箱会问你是哪位测试用户。",
		"lead_userinfo": "申请获取你的昵称和头像。",
		"lead_login":    "请使用微信扫描二维码登录。在沙箱中，请选择扫码的测试用户。",
		"returns_to":    "返回",
		"allow_as":      "以 %s 的身份允许",
		"snapshot":      "快照页虚拟用户（is_snapshotuser）",
		"deny":          "拒绝",
		"noscript":      "本页需要 JavaScript。脚本可以改为在网址后加上 &sandbox_user=alice。",
		"declined":      "你已拒绝。微信不会返回网站：停留在本页。",
		"failed":        "无法继续：",
		"error_title":   "无法打开此页面 · 微信沙箱",
		"error_heading": "无法打开此页面",
		"error_meta":    "授权链接有误时，微信会显示错误页，而不会跳转。",
		"user_title":    "此浏览器的微信用户 · 微信沙箱",
		"user_heading":  "此浏览器的微信用户",
		"user_current":  "此浏览器已以 %s 登录微信：snsapi_base 授权会立即以该用户通过，就像微信对手机上登录的账号那样。",
		"user_none":     "此浏览器未设置微信用户：每个授权页都会询问你是哪位测试用户。",
		"user_switch":   "切换为 %s",
		"user_clear":    "清除用户",
	},
}

// pageErrmsgsZH are pageErrmsgs as a Chinese page shows them.
var pageErrmsgsZH = map[int]string{
	10003: "redirect_uri 域名与后台配置不一致",
	10004: "此公众号被封禁",
	10005: "此公众号并没有这些 scope 的权限",
	10006: "必须关注此测试号",
	10009: "操作太频繁了，请稍后重试",
	10010: "scope 不能为空",
	10011: "redirect_uri 不能为空",
	10012: "appid 不能为空",
	10013: "state 不能为空",
	10015: "公众号未授权第三方平台，请检查授权状态",
	10016: "不支持微信开放平台的 Appid，请使用公众号 Appid",
	40013: "不合法的 AppID",
}

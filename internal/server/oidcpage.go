package server

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// The OP's pages (docs/oidc.md "The sign-in page"): server-rendered, no
// external asset, no script but the mini program code's (oidcqr.go),
// mobile first, in Chinese for a browser whose first language is Chinese
// (Accept-Language zh*) and English otherwise.

// pageText is every sentence of the pages in one language.
type pageText struct {
	Lang, SignInTitle, SignInLead, WeChatButton, OpenInWeChat, ErrorTitle, Back,
	LogoutTitle, LogoutLead, LogoutButton, LoggedOutTitle, LoggedOutLead,
	BindTitle, BindLead, PhoneLabel, SendCode, CodeLead, CodeLabel, BindButton string
	// The mini program code (oidcqr.go).
	QRLead, QRAlt, QROr, QRWaiting, QRScanned, QRConfirmed, QRCanceled, QRExpired, QRDone, QRNotYet, QRFresh string
}

var pageTexts = map[bool]pageText{
	false: {
		Lang: "en", SignInTitle: "Sign in to %s", SignInLead: "Use WeChat to sign in. A QR code appears next: scan it with WeChat on your phone.",
		WeChatButton: "Sign in with WeChat", OpenInWeChat: "On a phone, this sign-in works inside WeChat: open this link in WeChat, or sign in on a computer by scanning a QR code.",
		ErrorTitle: "Sign-in failed", Back: "Go back to the application and try again.",
		LogoutTitle: "Sign out?", LogoutLead: "This ends your WeChat sign-in here and in the applications it signed you into.", LogoutButton: "Sign out",
		LoggedOutTitle: "Signed out", LoggedOutLead: "You are signed out. You can close this page.",
		BindTitle: "Bind your phone number", BindLead: "This service asks new users for a phone number. We send a 6-digit code to it by SMS.",
		PhoneLabel: "Phone number (+86…)", SendCode: "Send the code", CodeLead: "Enter the 6-digit code sent to %s.", CodeLabel: "SMS code", BindButton: "Bind and sign in",
		QRLead: "Scan this code with WeChat on your phone: the mini program opens and asks you to confirm.", QRAlt: "Mini program code to scan with WeChat",
		QROr: "Or use WeChat's QR login:", QRWaiting: "Waiting for the scan…", QRScanned: "Scanned. Confirm on your phone.",
		QRConfirmed: "Confirmed. Going back to the application…", QRCanceled: "Canceled on the phone.", QRExpired: "This code has expired.",
		QRDone: "I confirmed on my phone", QRNotYet: "Not confirmed yet: confirm on your phone, then press the button again.",
		QRFresh: "The code expired. Here is a new one.",
	},
	true: {
		Lang: "zh-CN", SignInTitle: "登录 %s", SignInLead: "使用微信登录。接下来会显示二维码，请用手机微信扫码。",
		WeChatButton: "微信登录", OpenInWeChat: "在手机上请在微信中打开此链接登录，或在电脑上扫码登录。",
		ErrorTitle: "登录失败", Back: "请返回应用重试。",
		LogoutTitle: "退出登录？", LogoutLead: "这将结束此处的微信登录，以及通过它登录的应用。", LogoutButton: "退出登录",
		LoggedOutTitle: "已退出登录", LoggedOutLead: "您已退出登录，可以关闭此页面。",
		BindTitle: "绑定手机号", BindLead: "本服务要求新用户绑定手机号，我们将通过短信发送 6 位验证码。",
		PhoneLabel: "手机号（+86…）", SendCode: "发送验证码", CodeLead: "请输入发送到 %s 的 6 位验证码。", CodeLabel: "短信验证码", BindButton: "绑定并登录",
		QRLead: "请用手机微信扫描此小程序码，小程序打开后确认登录。", QRAlt: "用微信扫描的小程序码",
		QROr: "或使用微信扫码登录：", QRWaiting: "等待扫码…", QRScanned: "已扫码，请在手机上确认。",
		QRConfirmed: "已确认，正在返回应用…", QRCanceled: "已在手机上取消。", QRExpired: "小程序码已过期。",
		QRDone: "我已在手机上确认", QRNotYet: "尚未确认：请在手机上确认后再点按钮。",
		QRFresh: "小程序码已过期，这是新的小程序码。",
	},
}

// chinese reports whether the browser's first language is Chinese.
func chinese(r *http.Request) bool {
	first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(first)), "zh")
}

// page is what one page shows.
type page struct {
	T       pageText
	Title   string
	Lead    string
	Message string
	// Link, with LinkID and LinkText, is the page's one action.
	Link, LinkID, LinkText string
	// Form, if set, is the page's form.
	Form *form
	// QR, if set, is the mini program code, shown before Link; Or
	// introduces Link then.
	QR *qrBlock
	Or string
}

// form posts Hidden and what the person types in Inputs to Action with
// the button ButtonID.
type form struct {
	Action           string
	Hidden           map[string]string
	Inputs           []input
	ButtonID, Button string
}

// input is one field of a form.
type input struct {
	ID, Name, Label, Type, Autocomplete, Value string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.T.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f5f5;color:#1a1a1a}
main{max-width:420px;margin:0 auto;padding:48px 20px}
h1{font-size:1.4rem;margin:0 0 12px}
p{line-height:1.6;color:#444}
.action{display:block;width:100%;box-sizing:border-box;text-align:center;padding:14px;border-radius:8px;border:0;background:#07c160;color:#fff;font-size:1rem;text-decoration:none;cursor:pointer}
.note{font-size:.9rem;color:#666}
label{display:block;margin:12px 0 6px}
.qr{text-align:center;margin:0 0 24px}
.qr img{width:240px;max-width:100%;height:auto;background:#fff;border-radius:8px}
input{display:block;width:100%;box-sizing:border-box;padding:12px;font-size:1rem;border:1px solid #ccc;border-radius:8px;margin-bottom:16px}
</style></head>
<body><main>
<h1 id="title">{{.Title}}</h1>
{{if .Lead}}<p id="lead">{{.Lead}}</p>{{end}}
{{if .Message}}<p id="message" class="note">{{.Message}}</p>{{end}}
{{with .QR}}<div class="qr"><img id="qr-image" src="{{.Image}}" alt="{{$.T.QRAlt}}" width="240" height="240">
<p id="qr-status" aria-live="polite" data-waiting="{{$.T.QRWaiting}}" data-scanned="{{$.T.QRScanned}}" data-confirmed="{{$.T.QRConfirmed}}" data-canceled="{{$.T.QRCanceled}}" data-expired="{{$.T.QRExpired}}">{{$.T.QRWaiting}}</p>
<form id="qr-form" method="post" action="{{.Complete}}"><input type="hidden" name="ticket" value="{{.Ticket}}"><noscript><button class="action" id="qr-done" type="submit">{{$.T.QRDone}}</button></noscript></form>
<script>` + qrScript + `</script></div>{{end}}
{{if .Or}}<p id="or" class="note">{{.Or}}</p>{{end}}
{{if .Link}}<a class="action" id="{{.LinkID}}" href="{{.Link}}">{{.LinkText}}</a>{{end}}
{{with .Form}}<form method="post" action="{{.Action}}">{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{range .Inputs}}<label for="{{.ID}}">{{.Label}}</label><input id="{{.ID}}" name="{{.Name}}" type="{{.Type}}" autocomplete="{{.Autocomplete}}" value="{{.Value}}" required>{{end}}
<button class="action" id="{{.ButtonID}}" type="submit">{{.Button}}</button></form>{{end}}
</main></body></html>
`))

// writePage renders p with status. The page is never cached, framed, or
// allowed to load anything.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, status int, p page) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "err", err)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString("server error")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	csp := "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
	if p.QR != nil {
		csp += "; img-src 'self'; connect-src 'self'; script-src " + qrScriptHash
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows a refusal that must not go back to the client.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, english, chineseText string) {
	t := pageTexts[chinese(r)]
	msg := english
	if t.Lang != "en" {
		msg = chineseText
	}
	s.writePage(w, r, status, page{T: t, Title: t.ErrorTitle, Lead: msg, Message: t.Back})
}

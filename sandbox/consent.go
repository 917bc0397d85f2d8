package sandbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// WeChat's browser pages, as WeChat spells their paths (reference §5.1,
// §6); the sandbox serves them under [OpenPrefix].
const (
	pathAuthorize = "/connect/oauth2/authorize"
	pathQRConnect = "/connect/qrconnect"
)

// maxStateLen is the longest state WeChat accepts (reference §5.1).
const maxStateLen = 128

// maxDecisionBody caps the form a consent page posts.
const maxDecisionBody = 4 << 10

// pageErrmsgs are the errors an authorize page shows instead of
// redirecting (reference §5.1; single secondary source), plus 40013 for an
// appid the page does not know.
var pageErrmsgs = map[int]string{
	10003: "redirect_uri domain does not match the app's web authorization domain",
	10004: "this account has been banned",
	10005: "this app has no permission for this scope",
	10006: "you must follow this test account first",
	10009: "too many requests, try again later",
	10010: "scope is empty",
	10011: "redirect_uri is empty",
	10012: "appid is empty",
	10013: "state is empty",
	10015: "the Official Account has not authorized the third-party platform",
	10016: "an Open Platform appid cannot use this page",
	40013: "invalid appid",
}

// pageError is why an authorize page refuses a request: an error page,
// never a redirect (reference §5.1).
type pageError struct {
	// Code is WeChat's code for it, or 0 where WeChat has none (a bad
	// response_type or state).
	Code int
	// Detail says what exactly is wrong, for the developer reading the page.
	Detail string
}

// errWeChatOnly is the page an Official Account's authorize link shows in
// a browser other than WeChat's (reference §5.1: "请在微信客户端打开链接",
// binarywang/WxJava#35): no code, no redirect, whatever the link holds.
var errWeChatOnly = &pageError{Detail: "Open this link in WeChat: an Official Account's authorization page works only " +
	"in WeChat's built-in browser (its User-Agent holds MicroMessenger). A desktop browser logs in through a website app's QR code (" +
	OpenPrefix + pathQRConnect + ")."}

// wechatOnlyMsg is the heading of WeChat's page for errWeChatOnly.
const wechatOnlyMsg = "请在微信客户端打开链接"

// inWeChat reports whether a request comes from WeChat's built-in browser,
// which names itself "MicroMessenger" in its User-Agent.
func inWeChat(r *http.Request) bool {
	return strings.Contains(r.UserAgent(), "MicroMessenger")
}

func (e *pageError) Error() string {
	if e == errWeChatOnly {
		return wechatOnlyMsg + ": " + e.Detail
	}
	if e.Code == 0 {
		return e.Detail
	}
	return fmt.Sprintf("%d %s: %s", e.Code, pageErrmsgs[e.Code], e.Detail)
}

// authorizeRequest is a checked authorize or qrconnect request.
type authorizeRequest struct {
	app         App
	redirectURI string
	scope       string
	state       string
}

// parseAuthorize checks the query of an authorize page serving apps of
// kind (reference §5.1 for Official Accounts, §6 for websites), in this
// order: appid (10012 empty; 40013 unknown or of another kind, but 10016
// for a website appid on the Official Account page), redirect_uri (10011
// empty; 10003 unless an absolute http or https URL on one of the app's
// Domains and the default port, see checkDomain), response_type (must be code), scope (10010
// empty; 10005 unless snsapi_base or snsapi_userinfo for an Official
// Account, snsapi_login for a website), state (10013 empty; a-zA-Z0-9, at
// most 128 bytes). WeChat's strict parameter order and the
// #wechat_redirect fragment cannot be checked (a browser never sends the
// fragment) and are not.
func (s *Sandbox) parseAuthorize(q url.Values, kind string) (authorizeRequest, *pageError) {
	appID := q.Get("appid")
	if appID == "" {
		return authorizeRequest{}, &pageError{10012, "the appid parameter is missing"}
	}
	s.mu.Lock()
	app, ok := s.apps[appID]
	var req authorizeRequest
	if ok {
		req.app = *app
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return req, &pageError{40013, fmt.Sprintf("no app with appid %q is registered with the sandbox", appID)}
	case req.app.Kind == KindWebsite && kind == KindOfficialAccount:
		return req, &pageError{10016, fmt.Sprintf("app %q is a website app; send it to %s%s", appID, OpenPrefix, pathQRConnect)}
	case req.app.Kind != kind:
		return req, &pageError{40013, fmt.Sprintf("app %q is a %s; this page serves %s apps", appID, req.app.Kind, kind)}
	}

	req.redirectURI = q.Get("redirect_uri")
	if req.redirectURI == "" {
		return req, &pageError{10011, "the redirect_uri parameter is missing"}
	}
	u, err := url.Parse(req.redirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return req, &pageError{10003, "redirect_uri must be an absolute http or https URL"}
	}
	if perr := s.checkDomain(req.app, u); perr != nil {
		return req, perr
	}
	if rt := q.Get("response_type"); rt != "code" {
		return req, &pageError{0, fmt.Sprintf("response_type is %q; it must be code", rt)}
	}
	req.scope = q.Get("scope")
	switch {
	case req.scope == "":
		return req, &pageError{10010, "the scope parameter is missing"}
	case !scopeAllowed(kind, req.scope):
		want := ScopeBase + " or " + ScopeUserInfo
		if kind == KindWebsite {
			want = ScopeLogin
		}
		return req, &pageError{10005, fmt.Sprintf("scope is %q; a %s may ask for %s", req.scope, kind, want)}
	}
	req.state = q.Get("state")
	if req.state == "" {
		// Listed as 10013 in the error table although the parameter
		// table marks state optional (reference §5.1): the strict reading.
		return req, &pageError{10013, "the state parameter is missing or empty"}
	}
	if len(req.state) > maxStateLen || strings.IndexFunc(req.state, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) >= 0 {
		return req, &pageError{0, "state may only hold a-z, A-Z and 0-9, at most 128 bytes"}
	}
	return req, nil
}

// checkDomain holds redirect_uri to the app's registered domains
// (reference §5.1, §6; WeChat staff in the WeChat developer community):
// its host equals one of [App.Domains] exactly (a subdomain or the parent
// domain is another host) and its port is the scheme's default, else error
// 10003. The one exception is [Config.DevOrigins], port included.
func (s *Sandbox) checkDomain(app App, u *url.URL) *pageError {
	if slices.Contains(s.devOrigins, strings.ToLower(u.Scheme+"://"+u.Host)) {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	if !slices.Contains(app.Domains, host) {
		if len(app.Domains) == 0 {
			return &pageError{10003, fmt.Sprintf("app %q has no registered domain; register %q for it (domains)", app.AppID, host)}
		}
		return &pageError{10003, fmt.Sprintf("redirect_uri's host %q is not a domain registered for app %q (%s); each is matched exactly", host, app.AppID, strings.Join(app.Domains, ", "))}
	}
	if p := u.Port(); p != "" && !(p == "80" && u.Scheme == "http" || p == "443" && u.Scheme == "https") {
		return &pageError{10003, fmt.Sprintf("redirect_uri's port %s is not allowed: WeChat returns only to the default port (80, 443)", p)}
	}
	return nil
}

// allowURL is where Allow sends the browser: redirect_uri with code and
// state (reference §5.2).
func (req authorizeRequest) allowURL(code string) string {
	return withQuery(req.redirectURI, "code="+url.QueryEscape(code)+"&state="+url.QueryEscape(req.state))
}

// denyURL is where Deny on the Official Account page sends the browser:
// redirect_uri with state and no code, the legacy refusal the wxauth spec
// asks for (reference §5.2, docs/sandbox.md), unless
// Config.OfficialAccountDenyStays.
func (req authorizeRequest) denyURL() string {
	return withQuery(req.redirectURI, "state="+url.QueryEscape(req.state))
}

// withQuery appends query to uri: after "?", or after "&" if uri already
// has a query, before any fragment. The rest of uri is kept byte for byte.
func withQuery(uri, query string) string {
	base, frag, hasFrag := strings.Cut(uri, "#")
	switch {
	case !strings.Contains(base, "?"):
		base += "?"
	case !strings.HasSuffix(base, "?") && !strings.HasSuffix(base, "&"):
		base += "&"
	}
	base += query
	if hasFrag {
		base += "#" + frag
	}
	return base
}

// handlePage serves the authorize page at path for apps of kind:
// GET renders it (counted in Stats, faults applied as on WeChat paths, an
// injected errcode showing as an error page), POST is what its buttons
// call.
func (s *Sandbox) handlePage(path, kind string) {
	s.calls[path] = 0
	s.mux.HandleFunc(http.MethodGet+" "+OpenPrefix+path, func(w http.ResponseWriter, r *http.Request) {
		if f := s.beginCall(path); f != nil && s.runFault(w, r, path, f, func(code int) {
			s.writePageError(w, r, &pageError{code, "injected fault"})
		}) {
			return
		}
		s.authorizePage(w, r, kind)
	})
	s.mux.HandleFunc(http.MethodPost+" "+OpenPrefix+path, func(w http.ResponseWriter, r *http.Request) {
		s.authorizeDecision(w, r, kind)
	})
}

// authorizePage serves GET /connect/oauth2/authorize and
// /connect/qrconnect (reference §5.1, §6; docs/sandbox.md). A bad request
// gets an error page (HTTP 400), never a redirect; so does an Official
// Account's page outside WeChat (no MicroMessenger in the User-Agent). With sandbox_user=NAME
// the page approves at once as that test user: 302 to
// redirect_uri?code=…&state=…. Otherwise it renders the consent page: one
// Allow button per test user (id "allow-NAME") and a Deny button (id
// "deny"). A button posts its choice to the same URL, which mints the code
// only then and answers where to go; the page goes there with
// location.replace, so it leaves no History entry of its own. A browser
// with a current WeChat user (browseruser.go) asking for snsapi_base is
// approved at once as that user, as WeChat approves snsapi_base silently
// for the phone's account (reference §5.1).
func (s *Sandbox) authorizePage(w http.ResponseWriter, r *http.Request, kind string) {
	if kind == KindOfficialAccount && !inWeChat(r) {
		s.writePageError(w, r, errWeChatOnly)
		return
	}
	q := r.URL.Query()
	req, perr := s.parseAuthorize(q, kind)
	if perr != nil {
		s.writePageError(w, r, perr)
		return
	}
	name := q.Get("sandbox_user")
	if name == "" && req.scope == ScopeBase {
		name = s.browserUser(r)
	}
	if name != "" {
		code, err := s.IssueOAuthCode(req.app.AppID, name, req.scope)
		if err != nil {
			s.writePageError(w, r, &pageError{0, "sandbox_user: " + err.Error()})
			return
		}
		setPageHeaders(w, "")
		w.Header().Set("Location", req.allowURL(code))
		w.WriteHeader(http.StatusFound)
		return
	}

	nonce, err := s.nonce()
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox consent page nonce", "err", err)
		http.Error(w, "sandbox: no randomness", http.StatusInternalServerError)
		return
	}
	u, _ := url.Parse(req.redirectURI) // checked by parseAuthorize
	lang := pageLang(r)
	t := pageMessages[lang]
	page := consentPage{
		Lang:         htmlLang(lang),
		T:            t,
		Nonce:        nonce,
		AppName:      req.app.Name,
		AppID:        req.app.AppID,
		Scope:        req.scope,
		RedirectHost: u.Host,
	}
	switch req.scope {
	case ScopeBase:
		page.Lead = t["lead_base"]
	case ScopeUserInfo:
		page.Lead = t["lead_userinfo"]
	case ScopeLogin:
		page.Lead = t["lead_login"]
	}
	for _, u := range s.Users() {
		page.Users = append(page.Users, consentUser{ID: "allow-" + u.Name, Name: u.Name, Nickname: u.Nickname, Snapshot: u.Snapshot != "" && req.scope == ScopeUserInfo})
	}
	var buf bytes.Buffer
	if err := consentTemplate.Execute(&buf, page); err != nil {
		s.log.ErrorContext(r.Context(), "sandbox consent page", "err", err)
		http.Error(w, "sandbox: render page", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w, nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// decision is the answer to a consent page's button.
type decision struct {
	// Redirect is where the page goes, with location.replace; empty when
	// the page stays.
	Redirect string `json:"redirect,omitempty"`
	// Denied is set when Deny keeps the user on the page: always on the
	// website QR page, and on the Official Account page with
	// Config.OfficialAccountDenyStays.
	Denied bool `json:"denied,omitempty"`
}

// authorizeDecision serves POST /connect/oauth2/authorize and
// /connect/qrconnect, the sandbox's stand-in for tapping a button on
// WeChat's page: the query is the page's own, checked again; the form
// body is user=NAME (Allow: a code is minted now) or deny=1 (Deny). It
// answers {"redirect": URL}, {"denied": true} when Deny keeps the user on
// the page (website login always, reference §6), or a control API error.
func (s *Sandbox) authorizeDecision(w http.ResponseWriter, r *http.Request, kind string) {
	fail := func(err error) {
		status, code := errorStatus(err)
		writeJSON(w, status, controlError{Error: code, Description: err.Error()})
	}
	if kind == KindOfficialAccount && !inWeChat(r) {
		fail(errWeChatOnly)
		return
	}
	req, perr := s.parseAuthorize(r.URL.Query(), kind)
	if perr != nil {
		fail(perr)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxDecisionBody)
	if err := r.ParseForm(); err != nil {
		fail(fmt.Errorf("malformed form body: %v", err))
		return
	}
	var d decision
	switch user := r.PostForm.Get("user"); {
	case r.PostForm.Get("deny") != "" && (kind == KindWebsite || s.oaDenyStays):
		// Website login: "若用户禁止授权，则不会发生重定向" (reference §6;
		// WeChat's website-login doc): the user stays on the page.
		d.Denied = true
	case r.PostForm.Get("deny") != "":
		d.Redirect = req.denyURL()
	case user != "":
		code, err := s.IssueOAuthCode(req.app.AppID, user, req.scope)
		if err != nil {
			fail(err)
			return
		}
		d.Redirect = req.allowURL(code)
	default:
		fail(errors.New("the form has neither user nor deny"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, d)
}

// nonce returns a fresh CSP nonce for one page.
func (s *Sandbox) nonce() (string, error) {
	var b [16]byte
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.readRand(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// setPageHeaders keeps pages out of caches, referrers and other sites'
// frames; nonce, if not empty, is the one inline style and script the page
// may run (nothing is loaded from elsewhere).
func setPageHeaders(w http.ResponseWriter, nonce string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	csp := "default-src 'none'; base-uri 'none'; form-action 'none'"
	if nonce != "" {
		csp += fmt.Sprintf("; style-src 'nonce-%s'; script-src 'nonce-%s'; connect-src 'self'", nonce, nonce)
	}
	h.Set("Content-Security-Policy", csp)
}

// writePageError renders the page WeChat shows instead of redirecting
// (reference §5.1), with HTTP 400 so that scripts notice, in the
// browser's language (Detail, for the developer, stays English). The
// code, if any, is in the element with id "errcode".
func (s *Sandbox) writePageError(w http.ResponseWriter, r *http.Request, e *pageError) {
	nonce, err := s.nonce()
	if err != nil {
		nonce = ""
	}
	lang := pageLang(r)
	msgs := pageErrmsgs
	if lang == langZH {
		msgs = pageErrmsgsZH
	}
	msg, ok := msgs[e.Code]
	if !ok && e.Code != 0 {
		msg = errmsgs[e.Code]
	}
	if e == errWeChatOnly {
		msg = wechatOnlyMsg
	}
	var buf bytes.Buffer
	if err := errorTemplate.Execute(&buf, errorPage{Lang: htmlLang(lang), T: pageMessages[lang], Nonce: nonce, Code: e.Code, Errmsg: msg, Detail: e.Detail}); err != nil {
		http.Error(w, e.Error(), http.StatusBadRequest)
		return
	}
	setPageHeaders(w, nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	w.Write(buf.Bytes())
}

// consentPage is what the consent page shows.
type consentPage struct {
	Lang         string            // the html lang attribute
	T            map[string]string // pageMessages of the page's language
	Nonce        string
	AppName      string
	AppID        string
	Lead         string
	Scope        string
	RedirectHost string
	Users        []consentUser
}

type consentUser struct {
	ID, Name, Nickname string
	Snapshot           bool
}

// errorPage is what an error page shows.
type errorPage struct {
	Lang   string
	T      map[string]string
	Nonce  string
	Code   int
	Errmsg string
	Detail string
}

// pageStyle is shared by the consent and error pages.
const pageStyle = `{{define "style"}}<style nonce="{{.Nonce}}">
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#ededed;font:16px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#191919}
main{width:100%;max-width:420px;margin:24px;padding:28px 24px;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.tag{display:inline-block;margin:0 0 12px;padding:2px 8px;border-radius:4px;background:#e7f8ee;color:#06ae56;font-size:12px;font-weight:600;letter-spacing:.04em;text-transform:uppercase}
h1{margin:0 0 8px;font-size:22px;line-height:1.3}
p{margin:0 0 12px}
.meta{color:#7f7f7f;font-size:13px;overflow-wrap:break-word}
#detail{overflow-wrap:break-word}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f5f5f5;padding:1px 4px;border-radius:3px}
.users{display:flex;flex-direction:column;gap:10px;margin:20px 0 10px}
button{width:100%;padding:12px 16px;border:0;border-radius:8px;font:inherit;font-weight:600;cursor:pointer}
button.allow{background:#07c160;color:#fff}
button.allow:hover{background:#06ad56}
button.allow small{display:block;font-weight:400;font-size:12px;opacity:.85}
button.deny{background:#f2f2f2;color:#fa5151}
button.deny:hover{background:#e6e6e6}
button:disabled{opacity:.5;cursor:wait}
#status{min-height:1.5em;margin:12px 0 0;color:#fa5151;font-size:14px}
.code{font-size:40px;font-weight:700;color:#fa5151;margin:0 0 4px}
</style>{{end}}`

var consentTemplate = template.Must(template.New("consent").Parse(pageStyle + `<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{printf .T.consent_title .AppName}}</title>
{{template "style" .}}
</head>
<body>
<main>
<p class="tag">{{.T.tag}}</p>
<h1 id="app">{{.AppName}}</h1>
<p id="lead">{{.Lead}}</p>
<p class="meta">appid <code>{{.AppID}}</code> · scope <code id="scope">{{.Scope}}</code> · {{.T.returns_to}} <code>{{.RedirectHost}}</code></p>
<div class="users">
{{- $t := .T}}
{{- range .Users}}
<button type="button" class="allow" id="{{.ID}}" data-user="{{.Name}}">{{printf $t.allow_as .Nickname}}{{if .Snapshot}}<small>{{$t.snapshot}}</small>{{end}}</button>
{{- end}}
</div>
<button type="button" class="deny" id="deny">{{.T.deny}}</button>
<p id="status" role="status" data-declined="{{.T.declined}}" data-failed="{{.T.failed}}"></p>
<noscript><p>{{.T.noscript}}</p></noscript>
</main>
<script nonce="{{.Nonce}}">
(function () {
  var buttons = document.querySelectorAll("button");
  var status = document.getElementById("status");
  function decide(form) {
    buttons.forEach(function (b) { b.disabled = true; });
    status.textContent = "";
    fetch(location.pathname + location.search, {
      method: "POST",
      body: new URLSearchParams(form),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (resp) {
      return resp.json().then(function (body) {
        if (resp.ok && body.denied) {
          // As WeChat: a refusal sends nobody anywhere; the page stays.
          buttons.forEach(function (b) { b.disabled = false; });
          status.textContent = status.getAttribute("data-declined");
          return;
        }
        if (!resp.ok || !body.redirect) {
          throw new Error(body.error_description || "HTTP " + resp.status);
        }
        location.replace(body.redirect);
      });
    }).catch(function (err) {
      buttons.forEach(function (b) { b.disabled = false; });
      status.textContent = status.getAttribute("data-failed") + err.message;
    });
  }
  document.querySelectorAll("button[data-user]").forEach(function (b) {
    b.addEventListener("click", function () { decide({user: b.getAttribute("data-user")}); });
  });
  document.getElementById("deny").addEventListener("click", function () { decide({deny: "1"}); });
})();
</script>
</body>
</html>
`))

var errorTemplate = template.Must(template.New("error").Parse(pageStyle + `<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.error_title}}</title>
{{template "style" .}}
</head>
<body>
<main>
<p class="tag">{{.T.tag}}</p>
{{if .Code}}<p class="code" id="errcode">{{.Code}}</p>{{end}}
<h1 id="error">{{if .Errmsg}}{{.Errmsg}}{{else}}{{.T.error_heading}}{{end}}</h1>
<p id="detail" lang="en">{{.Detail}}</p>
<p class="meta">{{.T.error_meta}}</p>
</main>
</body>
</html>
`))

// Package demo serves the demo H5 page of `wxauth dev` at /demo/ (docs/configuration.md
// "wxauth dev"): a plain page, five static files embedded in the binary, that walks
// through the whole browser login of docs/api.md "H5 and website login" —
// PKCE in sessionStorage, WeChat's consent page (the sandbox's), the code
// exchange, the history entry replaced with return_to, the profile, the
// sessions, logout — and the bind page of §4 "Binding" when registration
// requires a phone, and the SDK's account check. Outside WeChat it also shows
// the two QR logins (qrpanel.js): "Scan with the mini program"
// (docs/qrlogin.md) and "Follow to log in" (docs/follow-login.md), each
// following its ticket to the profile. It speaks Chinese and English
// (i18n.js, by navigator.languages). The page runs on the JavaScript SDK (sdk/js, embedded
// by package sdkjs), which it serves beside itself under /demo/sdk/.
//
// It owns only those files and the headers they are served with. It knows
// wxauth through its HTTP contract alone, as any front end does, so the page
// also works when served from another origin than wxauth (its `?api=`
// parameter or `data-api` attribute names the server); docs/h5.md tells how.
// The browser test beside it drives it in Chromium against servertest.
package demo

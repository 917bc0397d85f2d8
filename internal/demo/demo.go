package demo

import (
	"embed"
	"net/http"
	"strings"

	sdkjs "github.com/wxauth/wxauth/sdk/js"
)

// files are the page: no build step, no outside resources. The page runs on
// the JavaScript SDK, served beside it from package sdkjs under /demo/sdk/.
//
//go:embed index.html app.js i18n.js qrpanel.js style.css
var files embed.FS

// contentSecurityPolicy lets the page load only its own script and style.
// connect-src stays open to any http(s) origin because the wxauth server the
// page talks to is chosen at run time (?api=); img-src allows https avatars
// (WeChat's thirdwx.qlogo.cn) and blob: (the QR login's picture, fetched
// from that server).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' https: data: blob:; connect-src 'self' http: https:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the demo page under /demo/ (mount it on that pattern):
// /demo/ is index.html, beside app.js and style.css, and the SDK under
// /demo/sdk/ (index.js, src/*.js: app.js imports ./sdk/index.js as an ES
// module, which script-src 'self' allows). The page's URL carries
// the OAuth code and state for a moment, so it is sent with no Referer to
// anyone (Referrer-Policy), and fetched afresh on each load (Cache-Control
// no-cache: embedded files carry no modification time to revalidate
// against, and they are small).
func Handler() http.Handler {
	fs := http.StripPrefix("/demo", http.FileServerFS(files))
	sdk := http.StripPrefix("/demo/sdk", http.FileServerFS(sdkjs.FS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		if p := r.URL.Path; p == "/demo/sdk" || strings.HasPrefix(p, "/demo/sdk/") {
			if strings.HasSuffix(p, "/") || p == "/demo/sdk" { // files only: no directory listings
				http.NotFound(w, r)
				return
			}
			sdk.ServeHTTP(w, r)
			return
		}
		fs.ServeHTTP(w, r)
	})
}

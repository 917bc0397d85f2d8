package demo_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/internal/demo"
)

// TestHandler checks what the page is served with, without a browser.
func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/demo/", demo.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		method, path string
		status       int
		contentType  string // prefix
		body         string // substring
	}{
		{"GET", "/demo/", http.StatusOK, "text/html", `<button id="login"`},
		{"HEAD", "/demo/", http.StatusOK, "text/html", ""},
		{"GET", "/demo/app.js", http.StatusOK, "text/javascript", "from './sdk/index.js'"},
		{"GET", "/demo/style.css", http.StatusOK, "text/css", ":root"},
		{"GET", "/demo/missing.js", http.StatusNotFound, "", ""},
		// The SDK, which app.js imports: its browser code only.
		{"GET", "/demo/sdk/index.js", http.StatusOK, "text/javascript", "export function createClient"},
		{"GET", "/demo/sdk/src/redirect.js", http.StatusOK, "text/javascript", "/v1/oauth/wechat/login"},
		{"GET", "/demo/sdk/src/pkce.js", http.StatusOK, "text/javascript", "export function newVerifier"},
		{"GET", "/demo/sdk/src/errors.js", http.StatusOK, "text/javascript", "class WxAuthError"},
		{"GET", "/demo/sdk/src/platform.js", http.StatusOK, "text/javascript", "export function makeEnv"},
		{"GET", "/demo/sdk/", http.StatusNotFound, "", ""},
		{"GET", "/demo/sdk/src/", http.StatusNotFound, "", ""},
		{"GET", "/demo/sdk/package.json", http.StatusNotFound, "", ""},
		{"GET", "/demo/sdk/index.d.ts", http.StatusNotFound, "", ""},
		{"GET", "/demo/sdk/tests/support.js", http.StatusNotFound, "", ""},
		{"GET", "/demo/sdk/dist/index.js", http.StatusNotFound, "", ""},
		{"POST", "/demo/", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			if resp.StatusCode != http.StatusOK {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want %s…", ct, tt.contentType)
			}
			if !strings.Contains(string(b), tt.body) {
				t.Errorf("body lacks %q", tt.body)
			}
			for h, want := range map[string]string{
				"Referrer-Policy":        "no-referrer", // the URL carries the OAuth code for a moment
				"X-Content-Type-Options": "nosniff",
				"Cache-Control":          "no-cache",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy = %q, want scripts from the page's origin only", csp)
			}
		})
	}
}

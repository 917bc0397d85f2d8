package server

import (
	"net/http"
	"strings"
)

// cors answers browsers on other origins (docs/configuration.md cors_origins): only
// listed origins get CORS headers, preflights are answered here, every
// answer that depends on Origin says so (Vary), and credentials (the OAuth
// binding cookie) are allowed only where that cookie is read.
type cors struct {
	origins map[string]bool
	// allowHeaders answers Access-Control-Allow-Headers: the token header,
	// when one is configured, besides the fixed ones.
	allowHeaders string
}

func newCORS(origins []string, tokenHeader string) cors {
	c := cors{origins: make(map[string]bool, len(origins)), allowHeaders: "Authorization, Content-Type, X-Request-Id"}
	if tokenHeader != "" {
		c.allowHeaders += ", " + http.CanonicalHeaderKey(tokenHeader)
	}
	for _, o := range origins {
		c.origins[strings.TrimSuffix(o, "/")] = true
	}
	return c
}

// credentialed lists the paths whose requests carry the binding cookie.
func credentialed(path string) bool {
	return path == "/v1/oauth/wechat/login" || path == "/v1/oauth/wechat/check"
}

func (c cors) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := c.origins[origin]
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
				h.Set("Access-Control-Allow-Headers", c.allowHeaders)
				h.Set("Access-Control-Max-Age", "600")
				if credentialed(r.URL.Path) {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id, WWW-Authenticate")
			if credentialed(r.URL.Path) {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		next.ServeHTTP(w, r)
	})
}

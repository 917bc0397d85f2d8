package server

import (
	"net"
	"net/http"
	"strings"
)

// clientIP is the caller's address for per-IP limits. Behind a load
// balancer, the configured header is trusted: for X-Forwarded-For its last
// entry (the one our own proxy appended; earlier ones are the client's to
// forge), for any other header its value. Without one, the connection's
// address.
func clientIP(r *http.Request, trustedHeader string) string {
	if trustedHeader != "" {
		if v := r.Header.Values(trustedHeader); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the caller's key for per-address limits (login, refresh, SMS,
// authorize). Behind a load balancer, the configured header is trusted: for
// X-Forwarded-For its last entry (the one our own proxy appended; earlier
// ones are the client's to forge), for any other header its value. Without
// one, the connection's address.
//
// An IPv4 address (or an IPv4-mapped IPv6 one) is itself; an IPv6 address is
// its /64 prefix ("2001:db8:1:2::/64"), since one host is routinely given a
// whole /64 (RFC 6177, RFC 8981 temporary addresses) and could otherwise
// present a fresh address for every attempt.
func clientIP(r *http.Request, trustedHeader string) string {
	addr, raw := client(r, trustedHeader)
	if addr.IsValid() {
		return limitKey(addr)
	}
	return raw
}

// clientAddr is the caller's address found as clientIP finds it, but
// whole (an IPv6 address not cut to its /64): what the audit trail
// records.
func clientAddr(r *http.Request, trustedHeader string) string {
	addr, raw := client(r, trustedHeader)
	if addr.IsValid() {
		return addr.Unmap().WithZone("").String()
	}
	return raw
}

// client is the caller's address, or the connection's address as given
// when it does not parse.
func client(r *http.Request, trustedHeader string) (netip.Addr, string) {
	if trustedHeader != "" {
		if v := r.Header.Values(trustedHeader); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if addr, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return addr, ""
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr, ""
	}
	return netip.Addr{}, host
}

// limitKey is addr as a per-address limit counts it: IPv4 as the address,
// IPv6 as its /64.
func limitKey(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

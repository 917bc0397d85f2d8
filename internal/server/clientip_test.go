package server

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		header string // trusted header, empty: none
		values []string
		want   string
	}{
		{"ipv4 connection", "198.51.100.7:4321", "", nil, "198.51.100.7"},
		{"ipv6 connection is its /64", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:4321", "", nil, "2001:db8:1:2::/64"},
		{"another address of the /64", "[2001:db8:1:2::1]:80", "", nil, "2001:db8:1:2::/64"},
		{"another /64", "[2001:db8:1:3::1]:80", "", nil, "2001:db8:1:3::/64"},
		{"ipv4-mapped ipv6 is ipv4", "[::ffff:198.51.100.7]:80", "", nil, "198.51.100.7"},
		{"zone dropped", "[fe80::1%eth0]:80", "", nil, "fe80::/64"},
		{"loopback ipv6", "[::1]:80", "", nil, "::/64"},
		{"untrusted header ignored", "198.51.100.7:1", "", []string{"2001:db8::1"}, "198.51.100.7"},
		{"xff last entry ipv6", "10.0.0.1:1", "X-Forwarded-For", []string{"203.0.113.9, 2001:db8:ffff:1:2:3:4:5"}, "2001:db8:ffff:1::/64"},
		{"xff last entry ipv4", "10.0.0.1:1", "X-Forwarded-For", []string{"2001:db8::1, 203.0.113.9"}, "203.0.113.9"},
		{"xff mapped", "10.0.0.1:1", "X-Forwarded-For", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"xff last of several headers", "10.0.0.1:1", "X-Forwarded-For", []string{"203.0.113.1", "2001:db8:5::9"}, "2001:db8:5::/64"},
		{"xff garbage falls back to the connection", "[2001:db8:7::1]:1", "X-Forwarded-For", []string{"not-an-ip"}, "2001:db8:7::/64"},
		{"other header", "10.0.0.1:1", "X-Real-IP", []string{"2001:db8:9:9:1::1"}, "2001:db8:9:9::/64"},
		{"remote without port", "2001:db8:8::1", "", nil, "2001:db8:8::/64"},
		{"unparsable remote kept", "pipe", "", nil, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.values {
				name := tt.header
				if name == "" {
					name = "X-Forwarded-For"
				}
				r.Header.Add(name, v)
			}
			if got := clientIP(r, tt.header); got != tt.want {
				t.Errorf("clientIP(%q, %q %q) = %q, want %q", tt.remote, tt.header, tt.values, got, tt.want)
			}
		})
	}
}

package wechat

import (
	"bytes"
	"testing"
)

// TestSessionKeySignature checks the login-state signature against the
// HMAC-SHA256 vectors of reference §3.8: the key is the session_key's
// base64 text, not its bytes.
func TestSessionKeySignature(t *testing.T) {
	tests := []struct{ key, message, want string }{
		{"o0q0otL8aEzpcZL/FT9WsQ==", `{"foo":"bar"}`, "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b"},
		{"o0q0otL8aEzpcZL/FT9WsQ==", "", "46e043c5525c2d817c44be603d30837a808a1d930d038f6fdc3e62a201fed128"},
		{"tiihtNczf5v6AKRyjwEUhQ==", "", "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735"},
	}
	for _, tt := range tests {
		if got := sessionKeySignature(tt.key, tt.message); got != tt.want {
			t.Errorf("sessionKeySignature(%q, %q) = %s, want %s", tt.key, tt.message, got, tt.want)
		}
	}
}

// TestPKCS7Padding compares the constant-time check with a plain one over
// every last block whose final bytes could matter.
func TestPKCS7Padding(t *testing.T) {
	naive := func(b []byte) (int, bool) {
		n := int(b[len(b)-1])
		if n < 1 || n > 16 {
			return n, false
		}
		for _, c := range b[len(b)-n:] {
			if int(c) != n {
				return n, false
			}
		}
		return n, true
	}
	check := func(b []byte) {
		t.Helper()
		gotN, gotOK := pkcs7Padding(b)
		wantN, wantOK := naive(b)
		if gotOK != wantOK || (wantOK && gotN != wantN) {
			t.Errorf("pkcs7Padding(% x) = %d, %v; want %d, %v", b, gotN, gotOK, wantN, wantOK)
		}
	}
	for n := 0; n < 256; n++ {
		for size := 16; size <= 32; size += 16 {
			good := bytes.Repeat([]byte{byte(n)}, size)
			check(good)
			// One byte changed at each position of the padding and just
			// before it.
			for i := 1; i <= min(n+1, size); i++ {
				b := bytes.Clone(good)
				b[size-i] ^= 0x40
				check(b)
			}
		}
	}
}

package config

import (
	"strings"
	"testing"
)

// token_header comes from the file or WXAUTH_TOKEN_HEADER; Validate names
// the key for a name that is no header or one with a meaning of its own.
func TestTokenHeader(t *testing.T) {
	valid := func() Config {
		c := Defaults()
		c.FillDev("http://127.0.0.1:8080", t.TempDir())
		return c
	}
	c := valid()
	if err := c.Parse([]byte("token_header: X-Wx-Ticket\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(false); err != nil || c.TokenHeader != "X-Wx-Ticket" {
		t.Errorf("token_header from the file: %q, Validate = %v", c.TokenHeader, err)
	}
	c = valid()
	if err := c.ApplyEnv(Env{"WXAUTH_TOKEN_HEADER": "X-Token"}); err != nil || c.TokenHeader != "X-Token" {
		t.Fatalf("ApplyEnv(WXAUTH_TOKEN_HEADER) = %v, TokenHeader %q", err, c.TokenHeader)
	}
	for _, tt := range []struct{ header, proxy, want string }{
		{"Cookie", "", "token_header: Cookie has a meaning of its own"},
		{"content-type", "", "token_header: Content-Type has a meaning of its own"},
		{"Host", "", "token_header: Host has a meaning"},
		{"X Wx", "", `token_header: "X Wx" is not an HTTP header name`},
		{"Authorization", "", "token_header: Authorization is always read"},
		{"X-Client", "X-Client", `token_header: "X-Client" is trusted_proxy_header`},
	} {
		c := valid()
		c.TokenHeader, c.TrustedProxyHeader = tt.header, tt.proxy
		if err := c.Validate(false); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(token_header %q) = %v, want %q", tt.header, err, tt.want)
		}
	}
}

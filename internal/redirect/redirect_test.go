package redirect

import (
	"strings"
	"testing"
)

// Open-redirect tricks, all refused as return_to and as redirect_uri.
var tricks = []string{
	"//evil.com", "//evil.com/", "///evil.com", "////evil.com",
	"https:evil.com", "https:/evil.com", "http:evil.com",
	"/\\evil.com", "\\\\evil.com", "/\\/evil.com", "\\/evil.com",
	"https://app.example.com@evil.com/", "https://evil.com@app.example.com/x",
	"https://app.example.com.evil.com/", "https://evil.com/https://app.example.com/",
	"/%2F%2Fevil.com", "/%2fevil.com", "%2F%2Fevil.com", "/%5Cevil.com", "/%5cevil.com",
	"/%252F%252Fevil.com", "/%25252F%25252Fevil.com",
	"/\t/evil.com", "/\n/evil.com", " //evil.com", "/ /evil.com",
	"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)", "file:///etc/passwd", "ftp://app.example.com/",
	"https://app.example.com%2F@evil.com/", "https://app.example.com%40evil.com/",
	"https://app.example.com:443@evil.com/", "https://[::1]/", "evil.com", "",
}

func TestTricksRefused(t *testing.T) {
	l := New([]string{"https://app.example.com/", "https://m.example.com/h5/"})
	for _, s := range tricks {
		if l.ReturnTo(s) {
			t.Errorf("ReturnTo(%q) = true, want false", s)
		}
		if l.AllowedURL(s) {
			t.Errorf("AllowedURL(%q) = true, want false", s)
		}
	}
}

func TestAllowed(t *testing.T) {
	l := New([]string{"https://app.example.com/", "https://m.example.com/h5/", "http://127.0.0.1:8080"})
	for s, want := range map[string]bool{
		"https://app.example.com/":             true,
		"https://app.example.com/page?x=1#y":   true,
		"https://APP.example.com/page":         true,
		"https://m.example.com/h5/index.html":  true,
		"https://m.example.com/h5":             false,
		"https://m.example.com/h55/x":          false,
		"https://m.example.com/other":          false,
		"http://app.example.com/":              false, // scheme differs
		"https://app.example.com:8443/":        false, // port differs
		"http://127.0.0.1:8080/demo/":          true,
		"http://127.0.0.1:8081/demo/":          false,
		"https://app.example.com/a\\b":         false,
		"https://user:pw@app.example.com/page": false,
	} {
		if got := l.AllowedURL(s); got != want {
			t.Errorf("AllowedURL(%q) = %v, want %v", s, got, want)
		}
	}
	for s, want := range map[string]bool{
		"/":                         true,
		"/orders/42?tab=2#top":      true,
		"/a/b/c":                    true,
		"/%E4%B8%AD%E6%96%87":       true,
		"/a%2Fb":                    true, // an encoded slash inside a segment is no host
		"orders":                    false,
		"https://evil.com/":         false,
		"https://app.example.com/x": true,
	} {
		if got := l.ReturnTo(s); got != want {
			t.Errorf("ReturnTo(%q) = %v, want %v", s, got, want)
		}
	}
}

// Dot segments are resolved as a browser resolves them before the prefix
// is compared, so "/h5/../admin" is judged as "/admin".
func TestDotSegments(t *testing.T) {
	l := New([]string{"https://m.example.com/h5/"})
	for s, want := range map[string]bool{
		"https://m.example.com/h5/../admin":         false,
		"https://m.example.com/h5/%2e%2e/admin":     false,
		"https://m.example.com/h5/%2E%2e/admin":     false,
		"https://m.example.com/h5/.%2e/admin":       false,
		"https://m.example.com/h5/%2e./admin":       false,
		"https://m.example.com/h5/a/../../admin":    false,
		"https://m.example.com/h5/..":               false,
		"https://m.example.com/h5/../h5/page":       true,
		"https://m.example.com/h5/a/../page":        true,
		"https://m.example.com/h5/./page":           true,
		"https://m.example.com/h5/%2e/page":         true,
		"https://m.example.com/h5/a/..":             true,
		"https://m.example.com/h5/..a/page":         true, // "..a" is a name
		"https://m.example.com/other/../h5/page":    true,
		"https://m.example.com/../../h5/page?x=/..": true,
	} {
		if got := l.AllowedURL(s); got != want {
			t.Errorf("AllowedURL(%q) = %v, want %v", s, got, want)
		}
		if got := l.ReturnTo(s); got != want {
			t.Errorf("ReturnTo(%q) = %v, want %v", s, got, want)
		}
	}
	for p, want := range map[string]string{
		"": "/", "/": "/", "/a/./b": "/a/b", "/a/../b": "/b", "/..": "/", "/a/..": "/",
		"/a/.": "/a/", "/a/%2E%2E/b": "/b", "/a//b": "/a//b", "/a/b/": "/a/b/",
	} {
		if got := resolveDots(p); got != want {
			t.Errorf("resolveDots(%q) = %q, want %q", p, got, want)
		}
	}
}

// Over 2 KiB is refused, whatever the prefix.
func TestMaxLen(t *testing.T) {
	l := New([]string{"https://app.example.com/"})
	base := "https://app.example.com/"
	ok := base + strings.Repeat("a", MaxLen-len(base))
	if !l.AllowedURL(ok) || !l.ReturnTo(ok) {
		t.Errorf("a URL of %d bytes is refused", len(ok))
	}
	if l.AllowedURL(ok+"a") || l.ReturnTo(ok+"a") {
		t.Errorf("a URL of %d bytes is allowed", len(ok)+1)
	}
	if p := "/" + strings.Repeat("a", MaxLen); l.ReturnTo(p) {
		t.Errorf("a path of %d bytes is allowed", len(p))
	}
}

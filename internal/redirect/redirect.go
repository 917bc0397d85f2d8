// Package redirect decides where wxauth may send a browser: the
// redirect_uri WeChat returns to, and the return_to page after login. Both
// are attacker-controlled inputs to an authorization flow, so both are
// checked against an allow-list (docs/api.md "H5 and website login"), and
// return_to may also be a plain same-site path — nothing that a browser
// could read as another host (//evil.com, /\evil.com, encoded forms).
package redirect

import (
	"net/url"
	"strings"
)

// List is an allow-list of URL prefixes such as "https://app.example.com/"
// (scheme, host and port must match exactly; the path must start with the
// prefix's path).
type List struct {
	prefixes []*url.URL
}

// New parses the prefixes; invalid ones are skipped (config validation
// reports them).
func New(prefixes []string) List {
	var l List
	for _, p := range prefixes {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		if u.Path == "" {
			u.Path = "/"
		}
		l.prefixes = append(l.prefixes, u)
	}
	return l
}

// MaxLen is the longest redirect_uri or return_to accepted (2 KiB): each
// is kept with the login state, and WeChat's own links are far shorter.
const MaxLen = 2048

// AllowedURL reports whether raw is an absolute http(s) URL under one of
// the prefixes, with no userinfo, no backslash and no control characters.
// The path is judged as a browser will request it: dot segments, plain or
// percent-encoded ("/app/../admin", "/app/%2e%2e/admin"), are resolved
// first (RFC 3986 §5.2.4, and the WHATWG URL standard's "%2e" rule).
func (l List) AllowedURL(raw string) bool {
	if len(raw) > MaxLen || !clean(raw) || strings.ContainsRune(raw, '\\') {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	if strings.ContainsAny(u.Host, "%@") {
		return false
	}
	path := resolveDots(u.EscapedPath())
	for _, p := range l.prefixes {
		if !strings.EqualFold(u.Scheme, p.Scheme) || !strings.EqualFold(u.Host, p.Host) {
			continue
		}
		pp := p.EscapedPath()
		if path == pp || strings.HasPrefix(path, pp) && (strings.HasSuffix(pp, "/") || path[len(pp)] == '/') {
			return true
		}
	}
	return false
}

// resolveDots removes the dot segments of an escaped absolute path as a
// browser does before it sends the request: "." and ".." also when written
// "%2e" (any case), so "/h5/%2E%2e/admin" is "/admin". An empty path is "/".
func resolveDots(p string) string {
	if p == "" {
		return "/"
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch strings.ReplaceAll(strings.ToLower(seg), "%2e", ".") {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// ReturnTo reports whether raw may be a return_to: a same-site path, or an
// allowed URL.
func (l List) ReturnTo(raw string) bool {
	if raw == "" || len(raw) > MaxLen {
		return false
	}
	if strings.HasPrefix(raw, "/") {
		return SamePath(raw)
	}
	return l.AllowedURL(raw)
}

// SamePath reports whether p is a plain path on this site: one leading
// "/", then neither "/" nor "\", no backslash or control character
// anywhere, no scheme or host — also after percent-decoding, so that
// "/%2F%2Fevil.com" and "/%5Cevil.com" are refused like their plain forms.
func SamePath(p string) bool {
	for range 3 { // decode a few layers: double-encoding is a classic
		if !samePathOnce(p) {
			return false
		}
		d, err := url.PathUnescape(p)
		if err != nil {
			return false
		}
		if d == p {
			return true
		}
		p = d
	}
	return false
}

func samePathOnce(p string) bool {
	if len(p) == 0 || p[0] != '/' || !clean(p) || strings.ContainsRune(p, '\\') {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// clean refuses control characters and spaces, which browsers strip or
// fold in ways that turn a path into a host ("/\t/evil.com").
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

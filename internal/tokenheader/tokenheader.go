package tokenheader

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors of [Read]. Both are the client's to fix; the callers answer
// ErrMissing with 401 invalid_token and ErrConflict with 400
// invalid_request.
var (
	ErrMissing  = errors.New("no access token in the request")
	ErrConflict = errors.New("the request carries two different access tokens")
)

// Read returns the access token of h. With name empty it is the
// `Authorization: Bearer` token. With a name, it is that header's value
// (trimmed), and `Authorization: Bearer` keeps working beside it — the Go
// client and tools such as curl send that — but when both are present
// they must carry the same token, and the named header must appear once:
// which one a proxy or cache would key on is then never in doubt. The two
// are compared in constant time.
func Read(h http.Header, name string) (string, error) {
	bearer, hasBearer := fromAuthorization(h.Get("Authorization"))
	if name == "" {
		if !hasBearer {
			return "", ErrMissing
		}
		return bearer, nil
	}
	values := h.Values(name)
	if len(values) > 1 {
		return "", ErrConflict
	}
	var own string
	if len(values) == 1 {
		own = strings.TrimSpace(values[0])
	}
	switch {
	case own == "" && !hasBearer:
		return "", ErrMissing
	case own == "":
		return bearer, nil
	case hasBearer && subtle.ConstantTimeCompare([]byte(own), []byte(bearer)) != 1:
		return "", ErrConflict
	}
	return own, nil
}

// fromAuthorization takes the token out of an Authorization header; the
// scheme is case-insensitive (RFC 9110 §11.1).
func fromAuthorization(v string) (string, bool) {
	if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(v[7:])
	return t, t != ""
}

// Describe names where tokens go, for messages: "Authorization: Bearer
// <token>" or "X-Wx-Ticket: <token>".
func Describe(name string) string {
	if name == "" {
		return "Authorization: Bearer <token>"
	}
	return http.CanonicalHeaderKey(name) + ": <token>"
}

// Check reports why name cannot carry tokens: it must be an HTTP field name
// (RFC 9110 §5.1: a token of tchar), at most 64 bytes, and none a browser
// forbids a page to set (fetch "forbidden request-header": Cookie, Host,
// Origin, Sec-*, Proxy-*, …), none with a meaning of its own to HTTP,
// proxies or wxauth (Content-Type, Accept, X-Forwarded-For, X-Request-Id,
// …), and not Authorization itself, which is always read. Empty is fine:
// the default.
func Check(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > 64 {
		return errors.New("is longer than 64 bytes")
	}
	for i := 0; i < len(name); i++ {
		if !isTChar(name[i]) {
			return fmt.Errorf("%q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
		}
	}
	lower := strings.ToLower(name)
	if lower == "authorization" {
		return errors.New("Authorization is always read (as Bearer); leave token_header empty for it, or name a header of your own such as X-Wx-Ticket")
	}
	for _, p := range []string{"sec-", "proxy-", "access-control-", "x-forwarded-"} {
		if strings.HasPrefix(lower, p) {
			return fmt.Errorf("%s headers are not for tokens (browsers or proxies set them); name a header of your own such as X-Wx-Ticket", http.CanonicalHeaderKey(p+"*"))
		}
	}
	if reserved[lower] {
		return fmt.Errorf("%s has a meaning of its own to browsers, HTTP or wxauth; name a header of your own such as X-Wx-Ticket", http.CanonicalHeaderKey(name))
	}
	return nil
}

// reserved are the headers Check refuses by name: the fetch standard's
// forbidden request-headers, the CORS-safelisted ones, and those HTTP,
// proxies or wxauth give a meaning.
var reserved = map[string]bool{
	"accept": true, "accept-charset": true, "accept-encoding": true, "accept-language": true,
	"cache-control": true, "connection": true, "content-language": true, "content-length": true,
	"content-type": true, "cookie": true, "cookie2": true, "date": true, "dnt": true, "expect": true,
	"forwarded": true, "host": true, "if-match": true, "if-modified-since": true, "if-none-match": true,
	"keep-alive": true, "origin": true, "pragma": true, "range": true, "referer": true, "set-cookie": true,
	"te": true, "trailer": true, "transfer-encoding": true, "upgrade": true, "user-agent": true, "via": true,
	"www-authenticate": true, "x-request-id": true, "x-real-ip": true,
}

// isTChar reports whether c may appear in an HTTP field name (RFC 9110
// §5.6.2 tchar).
func isTChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

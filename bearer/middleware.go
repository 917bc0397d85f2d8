package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wxauth/wxauth/api"
)

// claimsKey is the context key of the verified claims.
type claimsKey struct{}

// ClaimsFromContext returns the claims [Verifier.Middleware] verified for
// this request; false outside the middleware.
func ClaimsFromContext(ctx context.Context) (api.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*api.Claims)
	if !ok || c == nil {
		return api.Claims{}, false
	}
	return *c, true
}

// Middleware lets through only requests with a valid access token in
// `Authorization: Bearer …` (RFC 6750 §2.1), with its claims in the
// request's context ([ClaimsFromContext]). Others get the contract's answer
// (docs/api.md "Errors"): 401 invalid_token, token_expired or session_revoked with
// `WWW-Authenticate: Bearer error="invalid_token", error_description="…"`,
// or 503 unavailable with Retry-After when tokens cannot be checked (see
// [Config.OnLostRevocations]). The body is
// `{"error": "<code>", "error_description": "<text>"}`; the cause stays in
// the Verifier's logger at debug level.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := tokenFromHeader(r.Header.Get("Authorization"))
		if !ok {
			writeAnswer(w, answerMissing)
			return
		}
		c, err := v.verify(r.Context(), tok)
		if err != nil {
			v.log.DebugContext(r.Context(), "bearer: token refused", "err", err)
			writeAnswer(w, answerFor(err))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

// tokenFromHeader takes the token out of an Authorization header; the
// scheme is case-insensitive (RFC 9110 §11.1).
func tokenFromHeader(h string) (string, bool) {
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// answer is a ready-made error response: refusals are cheap even in a flood.
type answer struct {
	status    int
	challenge string
	body      []byte
}

func newAnswer(code, desc string) *answer {
	b, _ := json.Marshal(api.Error{Code: code, Description: desc})
	a := &answer{status: api.Status(code), body: append(b, '\n')}
	if a.status == http.StatusUnauthorized {
		a.challenge = fmt.Sprintf(`Bearer error="invalid_token", error_description=%q`, desc)
	}
	return a
}

// The descriptions are the server's own (internal/server/errors.go), so that
// a client sees the same text from wxauth and from a resource server.
var (
	answerMissing     = newAnswer(api.CodeInvalidToken, "an access token is required: Authorization: Bearer <token>")
	answerInvalid     = newAnswer(api.CodeInvalidToken, "the access token is missing, malformed or not ours")
	answerExpired     = newAnswer(api.CodeTokenExpired, "the access token has expired; refresh it")
	answerRevoked     = newAnswer(api.CodeSessionRevoked, "the session was logged out or revoked; log in again")
	answerUnavailable = newAnswer(api.CodeUnavailable, "the access token cannot be checked right now; retry later")
)

func answerFor(err error) *answer {
	switch {
	case errors.Is(err, ErrTokenExpired):
		return answerExpired
	case errors.Is(err, ErrSessionRevoked):
		return answerRevoked
	case errors.Is(err, ErrUnavailable):
		return answerUnavailable
	}
	return answerInvalid
}

func writeAnswer(w http.ResponseWriter, a *answer) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if a.challenge != "" {
		h.Set("WWW-Authenticate", a.challenge)
	}
	if a.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

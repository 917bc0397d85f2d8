package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/tokenheader"
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
// `Authorization: Bearer …` (RFC 6750 §2.1), or in [Config.TokenHeader],
// with its claims in the
// request's context ([ClaimsFromContext]). Others get the contract's answer
// (docs/api.md "Errors"): 400 invalid_request for two different tokens,
// 401 invalid_token, token_expired or session_revoked with
// `WWW-Authenticate: Bearer error="invalid_token", error_description="…"`,
// or 503 unavailable with Retry-After when tokens cannot be checked (see
// [Config.OnLostRevocations]). The body is
// `{"error": "<code>", "error_description": "<text>"}`; the cause stays in
// the Verifier's logger at debug level.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := tokenheader.Read(r.Header, v.tokenHeader)
		switch {
		case errors.Is(err, tokenheader.ErrConflict):
			writeAnswer(w, answerConflict)
			return
		case err != nil:
			writeAnswer(w, v.answerMissing)
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
	answerConflict    = newAnswer(api.CodeInvalidRequest, "send the access token once, the same token if in both headers")
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

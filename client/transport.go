package client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/wxauth/wxauth/api"
)

// Transport returns an [http.RoundTripper] that authorizes requests with the
// Client's access token, over base (nil: http.DefaultTransport).
//
// Only requests to BaseURL's origin and to [Config].APIOrigins get
// "Authorization: Bearer"; any other request passes through untouched (and a
// redirect to another origin is a new request, so it goes without the
// token). The caller's request is never modified: the transport sends a
// clone.
//
// On a 401 whose body is the contract's token_expired or invalid_token
// (docs/api.md "Errors"), the transport refreshes — or takes the token another
// request has just refreshed, or waits for the refresh in flight — and sends
// the request once more. invalid_token is an access token the server cannot
// verify (signed by a key it no longer has, damaged in a store): the session
// behind it may well be alive, and only a refresh can tell; if the refresh is
// refused (invalid_grant, refresh_token_reused), the error matches
// [ErrLoginRequired]. The JavaScript SDK does the same. The body is replayed through req.GetBody, which
// [http.NewRequest] sets for bytes, strings and their readers; a request
// with a body but no GetBody is not retried, and its 401 is returned. The
// answer to the retry is returned as it is, even a second 401.
//
// A 401 session_revoked, invalid_grant or refresh_token_reused, and a
// refresh refused so, make the Client forget its tokens; RoundTrip then
// returns an error matching [ErrLoginRequired] (http.Client wraps it in a
// *url.Error; errors.Is sees through). With no tokens at all, requests that
// would carry one fail the same way without being sent.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{c: c, base: base}
}

type transport struct {
	c    *Client
	base http.RoundTripper
}

// peekSize is how much of a 401 body is read to find its error code.
const peekSize = 4 << 10

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.c.origins[origin(req.URL)] {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	tok, err := t.c.token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(authorize(req, tok.AccessToken, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	apiErr := peekError(resp)
	if apiErr == nil {
		return resp, nil
	}
	switch apiErr.Code {
	case api.CodeSessionRevoked, api.CodeInvalidGrant, api.CodeRefreshTokenReused:
		discard(resp)
		t.c.clearIf(ctx, tok.AccessToken)
		apiErr.Status = resp.StatusCode
		return nil, fmt.Errorf("%w: %w", ErrLoginRequired, apiErr)
	case api.CodeTokenExpired, api.CodeInvalidToken:
	default:
		return resp, nil
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		return resp, nil // the body is spent; the caller sees the 401
	}
	discard(resp)
	tok, err = t.c.refreshAfter(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	body := req.Body
	if hasBody {
		if body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("replay request body: %w", err)
		}
	}
	return t.base.RoundTrip(authorize(req, tok.AccessToken, body))
}

// authorize is a clone of req with body and the bearer token.
func authorize(req *http.Request, access string, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+access)
	return r
}

// peekError reads the start of resp's body and returns the contract error it
// holds, if any. resp.Body still yields the whole body afterwards.
func peekError(resp *http.Response) *api.Error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, peekSize))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	if err != nil {
		return nil
	}
	return parseError(b)
}

// discard drains a little of resp's body, so that its connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, peekSize))
	resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wxauth/wxauth/internal/storage"
)

// AuthRequest is a checked authorization request (OIDC Core §3.1.2.1).
type AuthRequest struct {
	ClientID    string   `json:"client_id"`
	RedirectURI string   `json:"redirect_uri"`
	Scopes      []string `json:"scopes"`
	State       string   `json:"state,omitempty"`
	Nonce       string   `json:"nonce,omitempty"`
	// Challenge is the PKCE S256 code_challenge, or empty.
	Challenge string `json:"challenge,omitempty"`
	// Prompt is "", "none", "login" or "consent" (wxauth asks no consent
	// of first-party clients: consent is accepted and changes nothing).
	Prompt string `json:"prompt,omitempty"`
	// MaxAge is max_age in seconds, or -1 when absent.
	MaxAge int64 `json:"max_age"`
}

// Bounds of the request's values: longer is refused, so a stored request
// stays small.
const (
	maxStateLen = 512
	maxNonceLen = 256
	maxScopeLen = 256
)

// ParseAuthorize checks an authorization request. A *PageError means the
// browser must not go back to the client (unknown client, a redirect_uri
// not registered exactly); an *Error is sent to the redirect_uri with
// [Provider.ErrorRedirect].
func (p *Provider) ParseAuthorize(q url.Values) (AuthRequest, *Client, error) {
	for name, vs := range q {
		if len(vs) > 1 {
			if name == "client_id" || name == "redirect_uri" {
				return AuthRequest{}, nil, &PageError{English: "The request names " + name + " more than once.", Chinese: "请求中的 " + name + " 重复出现。"}
			}
		}
	}
	c, ok := p.cfg.Clients.Client(q.Get("client_id"))
	if !ok {
		return AuthRequest{}, nil, &PageError{English: "This application is not registered with the sign-in service (unknown client_id).", Chinese: "该应用未在登录服务中注册（client_id 未知）。"}
	}
	ru := q.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, ru) {
		return AuthRequest{}, c, &PageError{English: "The application asked to return to an address it has not registered (redirect_uri).", Chinese: "应用请求返回的地址（redirect_uri）未登记。"}
	}
	req := AuthRequest{ClientID: c.ID, RedirectURI: ru, State: q.Get("state"), Nonce: q.Get("nonce"), MaxAge: -1}
	bad := func(code, format string, args ...any) (AuthRequest, *Client, error) {
		return req, c, oauthErr(code, format, args...)
	}
	for name, vs := range q {
		if len(vs) > 1 {
			return bad(CodeInvalidRequest, "%s is given more than once", name)
		}
	}
	switch {
	case q.Has("request"):
		return bad(CodeRequestNotSupported, "request objects are not supported")
	case q.Has("request_uri"):
		return bad(CodeRequestURINotSupported, "request_uri is not supported")
	case len(req.State) > maxStateLen:
		req.State = ""
		return bad(CodeInvalidRequest, "state is longer than %d characters", maxStateLen)
	case q.Get("response_type") != "code":
		return bad(CodeUnsupportedResponseType, "response_type must be code")
	case q.Has("response_mode") && q.Get("response_mode") != "query":
		return bad(CodeInvalidRequest, "response_mode must be query")
	case len(req.Nonce) > maxNonceLen:
		return bad(CodeInvalidRequest, "nonce is longer than %d characters", maxNonceLen)
	case len(q.Get("scope")) > maxScopeLen:
		return bad(CodeInvalidScope, "scope is too long")
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, ScopeOpenID) {
		return bad(CodeInvalidScope, "scope must include openid")
	}
	for _, s := range scopes {
		if !slices.Contains(SupportedScopes(), s) {
			continue // unknown scopes are ignored (RFC 6749 §3.3 lets the server choose)
		}
		if !c.allowsScope(s) {
			return bad(CodeInvalidScope, "this client may not ask for scope %s", s)
		}
		if !slices.Contains(req.Scopes, s) {
			req.Scopes = append(req.Scopes, s)
		}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && c.Public:
		return bad(CodeInvalidRequest, "a public client must send code_challenge with code_challenge_method=S256 (PKCE)")
	case challenge == "" && method != "":
		return bad(CodeInvalidRequest, "code_challenge_method without code_challenge")
	case challenge != "" && method != "S256":
		return bad(CodeInvalidRequest, "code_challenge_method must be S256")
	case challenge != "":
		if b, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(b) != sha256.Size {
			return bad(CodeInvalidRequest, "code_challenge is base64url(SHA-256(code_verifier)), 43 characters")
		}
	}
	req.Challenge = challenge
	prompts := strings.Fields(q.Get("prompt"))
	for _, pr := range prompts {
		switch pr {
		case "none", "login", "consent", "select_account":
		default:
			return bad(CodeInvalidRequest, "prompt %q is not supported", pr)
		}
	}
	switch {
	case slices.Contains(prompts, "none") && len(prompts) > 1:
		return bad(CodeInvalidRequest, "prompt=none cannot be combined with other values")
	case slices.Contains(prompts, "none"):
		req.Prompt = "none"
	case slices.Contains(prompts, "login") || slices.Contains(prompts, "select_account"):
		req.Prompt = "login"
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return bad(CodeInvalidRequest, "max_age must be a number of seconds")
		}
		req.MaxAge = n
	}
	return req, c, nil
}

// ErrorRedirect is where an *Error of req sends the browser: the
// redirect_uri with error, error_description, state and iss (RFC 6749
// §4.1.2.1, RFC 9207).
func (p *Provider) ErrorRedirect(req AuthRequest, e *Error) string {
	v := url.Values{"error": {e.Code}, "error_description": {e.Description}, "iss": {p.cfg.Issuer}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	return addQuery(req.RedirectURI, v)
}

func addQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + v.Encode()
}

// NeedsLogin reports whether req must send the person to WeChat although
// the browser has session bs (ok false: none): prompt=login, or an
// authentication older than max_age (OIDC Core §3.1.2.1).
func (p *Provider) NeedsLogin(req AuthRequest, bs BrowserSession, ok bool) bool {
	if !ok || req.Prompt == "login" {
		return true
	}
	if req.MaxAge >= 0 && p.cfg.Now().Unix()-bs.AuthTime > req.MaxAge {
		return true
	}
	return false
}

func pendingKey(id string) string { return "oidc:request:" + id }

// SavePending keeps req while the person logs in with WeChat and returns
// its id.
func (p *Provider) SavePending(ctx context.Context, req AuthRequest) (string, error) {
	id, err := p.random(24)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("keep authorization request: %w", err)
	}
	if err := p.cfg.OneTime.PutOnce(ctx, pendingKey(id), b, requestTTL); err != nil {
		return "", fmt.Errorf("keep authorization request: %w", err)
	}
	return id, nil
}

// ErrNoPending: the authorization request is unknown, finished or
// expired.
var ErrNoPending = &PageError{English: "This sign-in has expired or was already used. Go back to the application and sign in again.",
	Chinese: "本次登录已过期或已完成，请返回应用重新登录。"}

// Pending reads a kept request; take removes it (the login finished).
func (p *Provider) Pending(ctx context.Context, id string, take bool) (AuthRequest, *Client, error) {
	if id == "" || len(id) > 64 {
		return AuthRequest{}, nil, ErrNoPending
	}
	var b []byte
	var err error
	if take {
		b, err = p.cfg.OneTime.Take(ctx, pendingKey(id))
	} else {
		b, err = p.cfg.OneTime.Get(ctx, pendingKey(id))
	}
	if errors.Is(err, storage.ErrNotFound) {
		return AuthRequest{}, nil, ErrNoPending
	}
	if err != nil {
		return AuthRequest{}, nil, fmt.Errorf("read authorization request: %w", err)
	}
	var req AuthRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return AuthRequest{}, nil, fmt.Errorf("read authorization request: %w", err)
	}
	c, ok := p.cfg.Clients.Client(req.ClientID)
	if !ok {
		return AuthRequest{}, nil, ErrNoPending
	}
	return req, c, nil
}

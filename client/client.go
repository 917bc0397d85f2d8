package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wxauth/wxauth/api"
)

// Config configures a [Client]. Only BaseURL is required.
type Config struct {
	// BaseURL is the wxauth server, such as "https://auth.example.com" (a
	// path prefix is kept: "https://example.com/auth"). Required.
	BaseURL string
	// APIOrigins are further origins, such as "https://api.example.com",
	// whose requests [Client.Transport] authorizes: the company's services
	// that accept wxauth access tokens. Requests to any origin that is
	// neither this nor BaseURL's never carry the token. Nil: BaseURL's only.
	APIOrigins []string
	// HTTPClient sends the Client's own calls to wxauth (login, refresh, and,
	// through [Client.Transport] over its Transport, the protected
	// endpoints). Nil: a client with a 30 s timeout over
	// http.DefaultTransport.
	HTTPClient *http.Client
	// Store keeps the tokens across restarts. Nil: memory only.
	Store TokenStore
	// Now is the clock that decides when an access token is near expiry.
	// Nil: time.Now.
	Now func() time.Time
	// RefreshBefore is how long before an access token's expiry the Client
	// refreshes it proactively. Zero: 60 s or a tenth of the token's
	// lifetime, whichever is shorter (sdk/js/README.md, getAccessToken).
	RefreshBefore time.Duration
}

// Client is a wxauth client for one login. It is safe for concurrent use.
type Client struct {
	base    string // BaseURL without its trailing slash
	origins map[string]bool
	hc      *http.Client // login and refresh: no bearer
	authed  *http.Client // protected endpoints: through Transport
	store   TokenStore
	now     func() time.Time
	before  time.Duration

	mu        sync.Mutex
	loaded    bool      // store read (or overridden by SetToken)
	tok       Token     // current tokens; zero when logged out
	refreshAt time.Time // when tok is due for a proactive refresh; zero: never
	flight    *flight   // the refresh in flight, if any

	storeMu sync.Mutex // serializes Store.Save so the last write is the latest state
}

// defaultTimeout bounds each call of the default HTTP client and each
// refresh.
const defaultTimeout = 30 * time.Second

// New checks cfg and returns a Client with no tokens yet (or those in
// cfg.Store, read on first use).
func New(cfg Config) (*Client, error) {
	base, err := parseOrigin(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("client: BaseURL: %w", err)
	}
	c := &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		origins: map[string]bool{origin(base): true},
		hc:      cfg.HTTPClient,
		store:   cfg.Store,
		now:     cfg.Now,
		before:  cfg.RefreshBefore,
	}
	for i, o := range cfg.APIOrigins {
		u, err := parseOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("client: APIOrigins[%d]: %w", i, err)
		}
		c.origins[origin(u)] = true
	}
	if cfg.RefreshBefore < 0 {
		return nil, fmt.Errorf("client: RefreshBefore: %v is negative", cfg.RefreshBefore)
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultTimeout}
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.authed = &http.Client{
		Transport:     c.Transport(c.hc.Transport),
		CheckRedirect: c.hc.CheckRedirect,
		Jar:           c.hc.Jar,
		Timeout:       c.hc.Timeout,
	}
	return c, nil
}

// parseOrigin parses an absolute http or https URL.
func parseOrigin(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	return u, nil
}

// origin is u's scheme, host and port, lower case and with the scheme's
// default port made explicit, so that equal origins compare equal.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// BindRequiredError is returned by a login whose WeChat identity has no user
// yet while the server's registration policy requires a phone (docs/api.md
// "Binding"): the program continues with POST /v1/bind and the ticket.
type BindRequiredError struct {
	BindTicket string
	ReturnTo   string
}

func (e *BindRequiredError) Error() string {
	return "wxauth client: this WeChat user must bind a phone before logging in"
}

// LoginMiniProgram logs in with a code from wx.login() through the mini
// program app (its key in wxauth's configuration; empty when the server has
// only one mini program), keeps the tokens, and returns the server's answer.
// inviter, if not empty, is recorded on a user this login creates.
func (c *Client) LoginMiniProgram(ctx context.Context, app, code, inviter string) (api.TokenResponse, error) {
	var out struct {
		api.TokenResponse
		api.BindRequired
	}
	err := c.do(ctx, c.hc, http.MethodPost, "/v1/miniprogram/login",
		api.MiniprogramLoginRequest{App: app, Code: code, Inviter: inviter}, &out)
	if err != nil {
		return api.TokenResponse{}, fmt.Errorf("mini program login: %w", err)
	}
	if out.BindRequired.BindRequired {
		return api.TokenResponse{}, &BindRequiredError{BindTicket: out.BindTicket, ReturnTo: out.ReturnTo}
	}
	if err := c.SetToken(ctx, out.TokenResponse); err != nil {
		return out.TokenResponse, err
	}
	return out.TokenResponse, nil
}

// LoginApp logs a native app in with the code the WeChat SDK's SendAuth
// gave it, through the mobile app app (its key in wxauth's configuration;
// empty when the server has only one), keeps the tokens, and returns the
// server's answer (docs/app-login.md). inviter is as for LoginMiniProgram.
func (c *Client) LoginApp(ctx context.Context, app, code, inviter string) (api.TokenResponse, error) {
	var out struct {
		api.TokenResponse
		api.BindRequired
	}
	err := c.do(ctx, c.hc, http.MethodPost, "/v1/app/login", api.AppLoginRequest{App: app, Code: code, Inviter: inviter}, &out)
	if err != nil {
		return api.TokenResponse{}, fmt.Errorf("app login: %w", err)
	}
	if out.BindRequired.BindRequired {
		return api.TokenResponse{}, &BindRequiredError{BindTicket: out.BindTicket, ReturnTo: out.ReturnTo}
	}
	if err := c.SetToken(ctx, out.TokenResponse); err != nil {
		return out.TokenResponse, err
	}
	return out.TokenResponse, nil
}

// SetToken makes tr, the answer of a login or refresh done elsewhere (a
// browser login, POST /v1/bind), the Client's tokens, replacing any it had,
// and saves them in the Store. A refresh in flight for the replaced tokens
// no longer affects the Client.
func (c *Client) SetToken(ctx context.Context, tr api.TokenResponse) error {
	if tr.AccessToken == "" && tr.RefreshToken == "" {
		return errors.New("client: SetToken: the token response has no tokens")
	}
	c.mu.Lock()
	c.loaded = true
	c.setLocked(tr)
	c.flight = nil
	c.mu.Unlock()
	return c.persist(ctx)
}

// Refresh uses the refresh token now, whatever the access token's expiry,
// and returns the new token. It shares a refresh already in flight.
func (c *Client) Refresh(ctx context.Context) (Token, error) {
	return c.refreshAfter(ctx, "")
}

// Logout ends the session at the server (all: every session of the user)
// and forgets the tokens, even when the call fails. A session already ended
// is not an error.
func (c *Client) Logout(ctx context.Context, all bool) error {
	err := c.do(ctx, c.authed, http.MethodPost, "/v1/logout", api.LogoutRequest{All: all}, nil)
	c.mu.Lock()
	c.loaded = true
	c.clearLocked()
	c.mu.Unlock()
	if serr := c.persist(ctx); serr != nil && err == nil {
		err = serr
	}
	if errors.Is(err, ErrLoginRequired) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// DeleteAccount deletes the logged-in user's account (DELETE /v1/me) and
// forgets the tokens. The server allows it only from a recent login: an
// *api.Error with Code api.CodeReauthenticationRequired says to log in
// again first; the tokens are then kept.
func (c *Client) DeleteAccount(ctx context.Context) error {
	if err := c.do(ctx, c.authed, http.MethodDelete, "/v1/me", nil, nil); err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	c.mu.Lock()
	c.loaded = true
	c.clearLocked()
	c.mu.Unlock()
	if err := c.persist(ctx); err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

// Me returns the logged-in user's profile (GET /v1/me).
func (c *Client) Me(ctx context.Context) (api.Me, error) {
	var me api.Me
	if err := c.do(ctx, c.authed, http.MethodGet, "/v1/me", nil, &me); err != nil {
		return api.Me{}, fmt.Errorf("me: %w", err)
	}
	return me, nil
}

// Sessions lists the user's sessions (GET /v1/sessions); the Client's own
// has Current set.
func (c *Client) Sessions(ctx context.Context) ([]api.Session, error) {
	var l api.SessionList
	if err := c.do(ctx, c.authed, http.MethodGet, "/v1/sessions", nil, &l); err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	return l.Sessions, nil
}

// RevokeSession ends one of the user's sessions (DELETE /v1/sessions/{id}),
// such as a lost phone's. The server answers 404 not_found for an id that
// is not one of the user's.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	if err := c.do(ctx, c.authed, http.MethodDelete, "/v1/sessions/"+url.PathEscape(id), nil, nil); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// do sends a JSON call to path on the server through hc and decodes a 2xx
// answer into out (if not nil). Other answers become an [*api.Error].
func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b) // NewRequest sets GetBody, so Transport may retry
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s answer: %w", resp.Status, err)
	}
	return nil
}

// readError turns an error answer into the contract's error. A body that is
// not one (a proxy's HTML page) gives code server_error and the status.
func readError(resp *http.Response) *api.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := parseError(b)
	if e == nil {
		e = &api.Error{Code: api.CodeServerError, Description: "unexpected answer " + resp.Status}
	}
	e.Status = resp.StatusCode
	return e
}

// parseError decodes a contract error body, nil if b is not one.
func parseError(b []byte) *api.Error {
	var e api.Error
	if json.Unmarshal(b, &e) != nil || e.Code == "" {
		return nil
	}
	return &e
}

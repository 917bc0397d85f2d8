package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wxauth/wxauth/api"
)

// ErrLoginRequired means the Client has no session it can continue: it never
// had tokens, or the server refused them for good (invalid_grant,
// refresh_token_reused, session_revoked; docs/api.md "Errors"). The Client has
// forgotten its tokens; the program must log in again. Errors from the
// server match it with errors.Is and also wrap the server's [*api.Error].
var ErrLoginRequired = errors.New("wxauth client: login required")

var errNoToken = fmt.Errorf("%w: no tokens", ErrLoginRequired)

// Token is one login's tokens as the Client keeps and stores them.
type Token struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	// Expiry is when the access token expires, by the clock of the Client
	// that received it (now plus expires_in), so that a skewed clock does not
	// matter. Zero: unknown, treated as never.
	Expiry    time.Time `json:"expiry"`
	SessionID string    `json:"session_id"`
}

// Valid reports whether t has an access token that has not expired by the
// wall clock. The Client itself decides by [Config].Now and refreshes before
// expiry.
func (t Token) Valid() bool {
	return t.AccessToken != "" && (t.Expiry.IsZero() || time.Now().Before(t.Expiry))
}

// TokenStore keeps a Client's tokens across restarts (a file, a keychain, a
// database row). It must be safe for concurrent use. The Client reads it once,
// on first use, and writes every change; Save of the zero Token means the
// tokens are gone (logout, or a session the server refused).
type TokenStore interface {
	// Load returns the stored tokens, or the zero Token and nil when there
	// are none.
	Load(ctx context.Context) (Token, error)
	Save(ctx context.Context, t Token) error
}

// TokenSource supplies valid access tokens.
type TokenSource interface {
	// Token returns the current token, refreshing it first when it is near
	// expiry.
	Token(ctx context.Context) (Token, error)
}

// TokenSource returns a source of the Client's tokens. When the access
// token is near expiry (see [Config].RefreshBefore), Token refreshes it,
// with at most one refresh in flight: concurrent callers wait for the same
// answer, and a failure reaches them all and lets the next call try again.
// If a proactive refresh fails for a passing reason (network, 5xx) while the
// access token has not yet expired, Token returns that token.
func (c *Client) TokenSource() TokenSource { return tokenSource{c} }

type tokenSource struct{ c *Client }

func (s tokenSource) Token(ctx context.Context) (Token, error) { return s.c.token(ctx) }

// flight is one refresh; done is closed when tok or err is set.
type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

func (f *flight) wait(ctx context.Context) (Token, error) {
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

func (c *Client) token(ctx context.Context) (Token, error) {
	c.mu.Lock()
	if err := c.loadLocked(ctx); err != nil {
		c.mu.Unlock()
		return Token{}, err
	}
	tok := c.tok
	if tok.AccessToken != "" && (c.refreshAt.IsZero() || c.now().Before(c.refreshAt)) {
		c.mu.Unlock()
		return tok, nil
	}
	f := c.startLocked(ctx)
	c.mu.Unlock()
	nt, err := f.wait(ctx)
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrLoginRequired) &&
		tok.AccessToken != "" && c.now().Before(tok.Expiry) {
		return tok, nil
	}
	return nt, err
}

// refreshAfter returns a token refreshed after failed, the access token the
// server called expired: the current one if another caller has refreshed
// since, else the result of a refresh (shared with one in flight). An empty
// failed forces a refresh.
func (c *Client) refreshAfter(ctx context.Context, failed string) (Token, error) {
	c.mu.Lock()
	if err := c.loadLocked(ctx); err != nil {
		c.mu.Unlock()
		return Token{}, err
	}
	if failed != "" && c.tok.AccessToken != "" && c.tok.AccessToken != failed {
		tok := c.tok
		c.mu.Unlock()
		return tok, nil
	}
	f := c.startLocked(ctx)
	c.mu.Unlock()
	return f.wait(ctx)
}

// startLocked returns the refresh in flight, starting one if there is none.
// The refresh runs on its own goroutine with ctx's values but not its
// cancellation, so that the caller who started it giving up does not fail
// the others; it is bounded by defaultTimeout instead.
func (c *Client) startLocked(ctx context.Context) *flight {
	if c.flight != nil {
		return c.flight
	}
	f := &flight{done: make(chan struct{})}
	if c.tok.RefreshToken == "" {
		f.err = errNoToken
		close(f.done)
		return f
	}
	c.flight = f
	go c.runRefresh(context.WithoutCancel(ctx), f, c.tok.RefreshToken)
	return f
}

func (c *Client) runRefresh(ctx context.Context, f *flight, rt string) {
	defer close(f.done)
	ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	defer cancel()
	var tr api.TokenResponse
	err := c.do(ctx, c.hc, http.MethodPost, "/v1/token/refresh", api.RefreshRequest{RefreshToken: rt}, &tr)
	var e *api.Error
	if errors.As(err, &e) && (e.Code == api.CodeInvalidGrant || e.Code == api.CodeRefreshTokenReused) {
		err = fmt.Errorf("%w: %w", ErrLoginRequired, e)
	}

	c.mu.Lock()
	if c.flight == f {
		c.flight = nil
	}
	// Tokens set meanwhile (SetToken, Logout) win over this refresh's answer.
	current := c.tok.RefreshToken == rt
	switch {
	case err == nil:
		f.tok = c.tokenFrom(tr)
		if current {
			c.setLocked(tr)
		}
	case errors.Is(err, ErrLoginRequired):
		f.err = err
		if current {
			c.clearLocked()
		}
	default:
		f.err = fmt.Errorf("refresh: %w", err)
		current = false // nothing changed
	}
	c.mu.Unlock()
	if current {
		if err := c.persist(ctx); err != nil && f.err == nil {
			f.err = err
		}
	}
}

// tokenFrom is the Token a response gives, its expiry by the Client's clock.
func (c *Client) tokenFrom(tr api.TokenResponse) Token {
	t := Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, SessionID: tr.SessionID}
	if tr.ExpiresIn > 0 {
		t.Expiry = c.now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return t
}

func (c *Client) setLocked(tr api.TokenResponse) {
	c.tok = c.tokenFrom(tr)
	c.refreshAt = c.refreshTime(c.tok, time.Duration(tr.ExpiresIn)*time.Second)
}

func (c *Client) clearLocked() {
	c.tok, c.refreshAt = Token{}, time.Time{}
}

// clearIf forgets the tokens if access is still the current access token:
// the server refused it for good.
func (c *Client) clearIf(ctx context.Context, access string) {
	c.mu.Lock()
	cleared := c.tok.AccessToken == access
	if cleared {
		c.clearLocked()
	}
	c.mu.Unlock()
	if cleared {
		// A failed Save leaves refused tokens in the Store; the next process
		// to load them is refused again and clears them then. The caller's
		// error is the refusal, which is what the program must act on.
		_ = c.persist(ctx)
	}
}

// refreshTime is when t is due for a proactive refresh, given its lifetime
// (0: unknown).
func (c *Client) refreshTime(t Token, lifetime time.Duration) time.Time {
	if t.Expiry.IsZero() {
		return time.Time{}
	}
	before := c.before
	if before == 0 {
		before = time.Minute
		if lifetime > 0 {
			before = min(before, lifetime/10)
		}
	}
	return t.Expiry.Add(-before)
}

// loadLocked reads the Store once.
func (c *Client) loadLocked(ctx context.Context) error {
	if c.loaded {
		return nil
	}
	if c.store != nil {
		t, err := c.store.Load(ctx)
		if err != nil {
			return fmt.Errorf("load token: %w", err)
		}
		c.tok = t
		c.refreshAt = c.refreshTime(t, jwtLifetime(t.AccessToken))
	}
	c.loaded = true
	return nil
}

// persist saves the current tokens. Saves are serialized and each writes the
// state at its time, so the Store ends with the latest.
func (c *Client) persist(ctx context.Context) error {
	if c.store == nil {
		return nil
	}
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	c.mu.Lock()
	t := c.tok
	c.mu.Unlock()
	if err := c.store.Save(ctx, t); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

// jwtLifetime is exp − iat of a JWT, read without verifying it (the Client
// only schedules its refresh by it); 0 if tok is not a JWT with both.
func jwtLifetime(tok string) time.Duration {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return 0
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0
	}
	var c struct {
		IssuedAt int64 `json:"iat"`
		Expiry   int64 `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Expiry <= c.IssuedAt || c.IssuedAt == 0 {
		return 0
	}
	return time.Duration(c.Expiry-c.IssuedAt) * time.Second
}

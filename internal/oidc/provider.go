package oidc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
)

// Config configures a [Provider]. Every field but the optional ones is
// required.
type Config struct {
	// Issuer is the configured issuer, exactly: the iss of ID tokens and
	// the base of every endpoint URL in the discovery document.
	Issuer  string
	Clients *Clients
	// Tokens opens, refreshes and revokes the sessions of OIDC logins.
	Tokens *token.Service
	// Keys sign ID tokens: the access tokens' keys (one JWKS).
	Keys     token.Keys
	Sessions storage.Sessions
	Users    storage.Users
	// OneTime keeps authorization requests, codes, grants and the links
	// from a browser session to the sessions it opened.
	OneTime storage.OneTime
	// Seal encrypts the browser session cookie.
	Seal *seal.Box
	// Secret (the server secret) keys pairwise subjects.
	Secret []byte
	// NewSession is what opening a session for a user charges (the
	// per-user login quota); optional.
	NewSession func(userID string) []storage.Quota
	// Now is the clock (optional: time.Now); Rand makes codes and ids
	// (optional: crypto/rand); Logger (optional: discard).
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
	// Audit records the sessions opened and revoked, and reused codes
	// (optional: audit.Discard).
	Audit audit.Recorder
}

// Lifetimes (docs/oidc.md "Lifetimes").
const (
	// requestTTL: from the authorization request to WeChat's answer.
	requestTTL = 10 * time.Minute
	// codeTTL: an authorization code's life (RFC 6749 §4.1.2: short).
	codeTTL = 60 * time.Second
	// redeemedTTL: how long a redeemed code is remembered, so that its
	// reuse revokes what it gave (RFC 6749 §4.1.2).
	redeemedTTL = 10 * time.Minute
	// idTokenTTL caps an ID token's life.
	idTokenTTL = time.Hour
)

// Provider is the OpenID Provider.
type Provider struct {
	cfg     Config
	subKey  []byte
	linkMax int
}

// New checks cfg and makes a Provider.
func New(cfg Config) (*Provider, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("oidc: Config.Issuer is required")
	case cfg.Clients == nil, cfg.Tokens == nil, cfg.Keys == nil, cfg.Sessions == nil, cfg.Users == nil,
		cfg.OneTime == nil, cfg.Seal == nil:
		return nil, errors.New("oidc: Config.Clients, Tokens, Keys, Sessions, Users, OneTime and Seal are required")
	case len(cfg.Secret) < 32:
		return nil, errors.New("oidc: Config.Secret must be at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Audit = audit.Or(cfg.Audit)
	if cfg.NewSession == nil {
		cfg.NewSession = func(string) []storage.Quota { return nil }
	}
	// A key of its own, so that the server secret itself hashes nothing.
	m := hmac.New(sha256.New, cfg.Secret)
	m.Write([]byte("wxauth oidc pairwise v1"))
	return &Provider{cfg: cfg, subKey: m.Sum(nil), linkMax: maxLinks}, nil
}

// Issuer is the configured issuer.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Clients is the client registry.
func (p *Provider) Clients() *Clients { return p.cfg.Clients }

// random is n random bytes, base64url.
func (p *Provider) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(p.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// subject is the sub a client sees for a user (OIDC Core §8): the user id,
// or for a pairwise client HMAC-SHA256(sector | user id) under a key
// derived from the server secret.
func (p *Provider) subject(c *Client, userID string) string {
	if c.Subject != SubjectPairwise {
		return userID
	}
	m := hmac.New(sha256.New, p.subKey)
	m.Write([]byte(c.sector()))
	m.Write([]byte{0})
	m.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

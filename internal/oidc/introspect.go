package oidc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
)

// Introspection is RFC 7662's answer for a client about one of its own
// tokens; Active alone (false) for anything else.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Expiry    int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
}

// Introspect tells client c whether tok — an access or refresh token of
// one of c's sessions — is live now (RFC 7662 §2.2), with the subject as c
// sees it. Another client's token, or one that is not ours, is inactive
// (§2.2: nothing about it is revealed); a storage failure is an error,
// never a false "inactive".
func (p *Provider) Introspect(ctx context.Context, c *Client, tok string) (Introspection, error) {
	inactive := Introspection{}
	if tok == "" || len(tok) > 4096 {
		return inactive, nil
	}
	now := p.cfg.Now()
	if sid, ok := p.cfg.Tokens.RefreshSessionID(tok); ok {
		sess, err := p.cfg.Sessions.Session(ctx, sid, now)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return inactive, nil
		case err != nil:
			return inactive, fmt.Errorf("look up session: %w", err)
		case sess.App != c.App() || !p.cfg.Tokens.RefreshIsLive(tok, sess):
			return inactive, nil
		}
		return p.active(ctx, c, sess.ID, sess.UserID, "refresh_token", sess.ExpiresAt.Unix(), sess.LastUsedAt.Unix())
	}
	claims, err := p.cfg.Tokens.Authenticate(ctx, tok)
	switch {
	case errors.Is(err, token.ErrInvalidToken), errors.Is(err, token.ErrTokenExpired), errors.Is(err, token.ErrSessionRevoked):
		return inactive, nil
	case err != nil:
		return inactive, err
	case claims.App != c.App():
		return inactive, nil
	}
	return p.active(ctx, c, claims.SessionID, claims.Subject, "Bearer", claims.Expiry, claims.IssuedAt)
}

// active is the answer for a live token of session sid.
func (p *Provider) active(ctx context.Context, c *Client, sid, userID, typ string, exp, iat int64) (Introspection, error) {
	g, err := p.grant(ctx, sid)
	var oe *Error
	if errors.As(err, &oe) {
		return Introspection{}, nil
	} else if err != nil {
		return Introspection{}, err
	}
	return Introspection{Active: true, Scope: strings.Join(g.Scopes, " "), ClientID: c.ID, Subject: p.subject(c, userID),
		Issuer: p.cfg.Issuer, TokenType: typ, Expiry: exp, IssuedAt: iat}, nil
}

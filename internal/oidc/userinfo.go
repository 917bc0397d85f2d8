package oidc

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxauth/wxauth/internal/token"
)

// UserInfo is the userinfo endpoint's answer (OIDC Core §5.3.2).
type UserInfo struct {
	Subject string `json:"sub"`
	userClaims
}

// ErrUserInfoToken: the bearer token is not a live access token of an
// OIDC login (RFC 6750 §3.1 invalid_token).
var ErrUserInfoToken = oauthErr(CodeInvalidToken, "the access token is missing, expired, revoked, or not from an OpenID Connect login")

// UserInfo answers the claims the access token's scopes allow. The token
// must belong to a live session an OIDC login opened.
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (UserInfo, error) {
	claims, err := p.cfg.Tokens.Authenticate(ctx, accessToken)
	switch {
	case errors.Is(err, token.ErrInvalidToken), errors.Is(err, token.ErrTokenExpired), errors.Is(err, token.ErrSessionRevoked):
		return UserInfo{}, ErrUserInfoToken
	case err != nil:
		return UserInfo{}, err
	}
	c, ok := p.cfg.Clients.ForApp(claims.App)
	if !ok {
		return UserInfo{}, ErrUserInfoToken
	}
	g, err := p.grant(ctx, claims.SessionID)
	var oe *Error
	if errors.As(err, &oe) {
		return UserInfo{}, ErrUserInfoToken
	} else if err != nil {
		return UserInfo{}, err
	}
	u, err := p.cfg.Users.User(ctx, claims.Subject)
	if err != nil {
		return UserInfo{}, fmt.Errorf("look up user: %w", err)
	}
	return UserInfo{Subject: p.subject(c, u.ID), userClaims: userClaimsFor(u, g.Scopes)}, nil
}

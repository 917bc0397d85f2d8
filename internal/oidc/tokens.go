package oidc

import (
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/jwt"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
)

// TokenResponse is the token endpoint's answer (RFC 6749 §5.1, OIDC Core
// §3.1.3.3).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// grant is what an OIDC session was opened for, kept beside it (the
// session record has no room for it): userinfo reads the scopes, a
// refresh the auth_time, end_session the browser session.
type grant struct {
	Client   string   `json:"client"`
	Scopes   []string `json:"scopes"`
	UserID   string   `json:"user_id"`
	Browser  string   `json:"browser_sid"`
	AuthTime int64    `json:"auth_time"`
}

func grantKey(sid string) string { return "oidc:grant:" + sid }

// open starts the client's session for g and signs its ID token.
func (p *Provider) open(ctx context.Context, c *Client, g grant, nonce string) (TokenResponse, string, error) {
	pair, err := p.cfg.Tokens.Open(ctx, token.OpenRequest{UserID: g.UserID, App: c.App(), Quotas: p.cfg.NewSession(g.UserID)})
	if err != nil {
		return TokenResponse{}, "", err
	}
	sid := pair.Session.ID
	b, err := json.Marshal(g)
	if err == nil {
		err = p.cfg.OneTime.PutOnce(ctx, grantKey(sid), b, pair.Session.MaxExpiresAt.Sub(p.cfg.Now()))
	}
	if err == nil {
		err = p.link(ctx, g.Browser, sid, pair.Session.MaxExpiresAt)
	}
	if err != nil {
		// No half-made login: the session goes with the failure.
		return TokenResponse{}, "", errors.Join(fmt.Errorf("record grant: %w", err), p.cfg.Tokens.Revoke(context.WithoutCancel(ctx), sid))
	}
	res, err := p.response(ctx, c, g, pair, nonce)
	return res, sid, err
}

// response is the token response for pair, with a fresh ID token.
func (p *Provider) response(ctx context.Context, c *Client, g grant, pair token.Pair, nonce string) (TokenResponse, error) {
	u, err := p.cfg.Users.User(ctx, g.UserID)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("look up user: %w", err)
	}
	now := p.cfg.Now()
	exp := now.Add(idTokenTTL)
	if pair.AccessExpiresAt.Before(exp) {
		exp = pair.AccessExpiresAt
	}
	claims := idClaims{
		Issuer: p.cfg.Issuer, Subject: p.subject(c, g.UserID), Audience: c.ID, AuthorizedParty: c.ID,
		Expiry: exp.Unix(), IssuedAt: now.Unix(), AuthTime: g.AuthTime, Nonce: nonce,
		AccessTokenHash: atHash(pair.AccessToken), SessionID: g.Browser,
	}
	claims.userClaims = userClaimsFor(u, g.Scopes)
	idt, err := p.sign(claims)
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{
		AccessToken: pair.AccessToken, TokenType: "Bearer", ExpiresIn: int64(pair.AccessExpiresAt.Sub(pair.IssuedAt) / time.Second),
		RefreshToken: pair.RefreshToken, IDToken: idt, Scope: strings.Join(g.Scopes, " "),
	}, nil
}

// idClaims are an ID token's claims (OIDC Core §2, §3.1.3.6).
type idClaims struct {
	Issuer          string `json:"iss"`
	Subject         string `json:"sub"`
	Audience        string `json:"aud"`
	AuthorizedParty string `json:"azp"`
	Expiry          int64  `json:"exp"`
	IssuedAt        int64  `json:"iat"`
	AuthTime        int64  `json:"auth_time"`
	Nonce           string `json:"nonce,omitempty"`
	AccessTokenHash string `json:"at_hash,omitempty"`
	// SessionID is the OP's browser session (OIDC Front-Channel Logout
	// §3): end_session ends it and the sessions it opened.
	SessionID string `json:"sid,omitempty"`
	userClaims
}

// userClaims are the claims of the person that the scopes allow (OIDC
// Core §5.4): name and picture under profile, the phone under phone.
type userClaims struct {
	Name                string `json:"name,omitempty"`
	Picture             string `json:"picture,omitempty"`
	PhoneNumber         string `json:"phone_number,omitempty"`
	PhoneNumberVerified *bool  `json:"phone_number_verified,omitempty"`
}

func userClaimsFor(u storage.User, scopes []string) userClaims {
	var c userClaims
	if slices.Contains(scopes, ScopeProfile) {
		c.Name, c.Picture = u.Nickname, u.AvatarURL
	}
	if slices.Contains(scopes, ScopePhone) && u.Phone != "" {
		verified := true // wxauth stores only phones a flow has proven
		c.PhoneNumber, c.PhoneNumberVerified = u.Phone, &verified
	}
	return c
}

// atHash is the at_hash of an access token (OIDC Core §3.1.3.6): the left
// half of its hash under the signing algorithm's hash, SHA-512 for EdDSA
// with Ed25519.
func atHash(accessToken string) string {
	sum := sha512.Sum512([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// SigningAlg is the alg of ID tokens: the server's keys are Ed25519.
const SigningAlg = "EdDSA"

// sign encodes claims as a compact JWS with the current key, kid in the
// header: the access tokens' key, so one JWKS verifies both.
func (p *Provider) sign(claims idClaims) (string, error) {
	key := p.cfg.Keys.Current()
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign id token: %w", err)
	}
	enc := base64.RawURLEncoding
	signing := string(jwt.EdDSAHeader(key.ID)) + "." + enc.EncodeToString(payload)
	sig := ed25519.Sign(key.Private, []byte(signing))
	return signing + "." + enc.EncodeToString(sig), nil
}

// RefreshRequest is the refresh_token grant (RFC 6749 §6).
type RefreshRequest struct {
	RefreshToken string
	// Quotas are charged with the rotation (the refresh limits).
	Quotas []storage.Quota
}

// Refresh rotates a refresh token of client c through wxauth's sessions
// (token.Service.Refresh: single use, grace window, reuse revokes the
// session) and answers new tokens with a new ID token. A token of another
// client, or of a session no OIDC login opened, is refused before any
// rotation.
func (p *Provider) Refresh(ctx context.Context, c *Client, req RefreshRequest) (TokenResponse, error) {
	sid, ok := p.cfg.Tokens.RefreshSessionID(req.RefreshToken)
	if !ok {
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the refresh token is unknown, expired or revoked")
	}
	sess, err := p.cfg.Sessions.Session(ctx, sid, p.cfg.Now())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the refresh token is unknown, expired or revoked")
	case err != nil:
		return TokenResponse{}, fmt.Errorf("look up session: %w", err)
	case sess.App != c.App():
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the refresh token was not issued to this client")
	}
	g, err := p.grant(ctx, sid)
	if err != nil {
		return TokenResponse{}, err
	}
	pair, err := p.cfg.Tokens.Refresh(ctx, req.RefreshToken, req.Quotas...)
	switch {
	case errors.Is(err, token.ErrReused):
		p.cfg.Logger.WarnContext(ctx, "refresh token reused; the session is revoked", "client_id", c.ID, "sid", sid)
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the refresh token was already used; the session has been revoked, sign in again")
	case errors.Is(err, token.ErrInvalidGrant):
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the refresh token is unknown, expired or revoked")
	case err != nil:
		return TokenResponse{}, err
	}
	return p.response(ctx, c, g, pair, "")
}

// grant reads the grant of session sid: invalid_grant when it is gone.
func (p *Provider) grant(ctx context.Context, sid string) (grant, error) {
	b, err := p.cfg.OneTime.Get(ctx, grantKey(sid))
	if errors.Is(err, storage.ErrNotFound) {
		return grant{}, oauthErr(CodeInvalidGrant, "the session has ended; sign in again")
	} else if err != nil {
		return grant{}, fmt.Errorf("read grant: %w", err)
	}
	var g grant
	if err := json.Unmarshal(b, &g); err != nil {
		return grant{}, fmt.Errorf("read grant: %w", err)
	}
	return g, nil
}

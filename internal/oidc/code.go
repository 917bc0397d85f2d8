package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// An authorization code is one record in the one-time store, under the
// hash of the code (the code itself is never stored), moved by
// compare-and-set:
//
//	issued ──redeem──▶ redeeming ──session──▶ redeemed ──reuse──▶ reused
//	                       └─────────reuse──────────────────────▶ reused
//
// Of concurrent redemptions exactly one takes issued → redeeming; every
// other one, and any later one, is a reuse: it answers invalid_grant and
// the session the code opened is revoked (RFC 6749 §4.1.2), by the reuser
// when the record says redeemed, by the redeemer when it finds reused.
type codeStep string

const (
	codeIssued    codeStep = "issued"
	codeRedeeming codeStep = "redeeming"
	codeRedeemed  codeStep = "redeemed"
	codeReused    codeStep = "reused"
)

type codeRecord struct {
	Step      codeStep    `json:"step"`
	Req       AuthRequest `json:"req"`
	UserID    string      `json:"user_id"`
	Browser   string      `json:"browser_sid"`
	AuthTime  int64       `json:"auth_time"`
	ExpiresAt time.Time   `json:"expires_at"`
	// SID is the session the redemption opened.
	SID string `json:"sid,omitempty"`
}

func codeKey(code string) string { return "oidc:code:" + hashKey(code) }

// IssueCode mints a code for req and the browser session bs and says
// where to send the browser: the redirect_uri with code, state and iss.
func (p *Provider) IssueCode(ctx context.Context, req AuthRequest, bs BrowserSession) (string, error) {
	code, err := p.random(32)
	if err != nil {
		return "", err
	}
	rec := codeRecord{Step: codeIssued, Req: req, UserID: bs.UserID, Browser: bs.SID, AuthTime: bs.AuthTime,
		ExpiresAt: p.cfg.Now().UTC().Add(codeTTL)}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("keep code: %w", err)
	}
	if err := p.cfg.OneTime.PutOnce(ctx, codeKey(code), b, codeTTL); err != nil {
		return "", fmt.Errorf("keep code: %w", err)
	}
	v := url.Values{"code": {code}, "iss": {p.cfg.Issuer}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	return addQuery(req.RedirectURI, v), nil
}

// ExchangeRequest is the authorization_code grant (RFC 6749 §4.1.3, RFC
// 7636 §4.5).
type ExchangeRequest struct {
	Code, RedirectURI, CodeVerifier string
}

var errBadCode = oauthErr(CodeInvalidGrant, "the code is unknown, expired, used, or was issued to another client")

// maxCodeSteps bounds the reads of one redemption: each is a step another
// redemption took.
const maxCodeSteps = 8

// Exchange redeems a code for client c.
func (p *Provider) Exchange(ctx context.Context, c *Client, req ExchangeRequest) (TokenResponse, error) {
	if req.Code == "" || len(req.Code) > 128 || len(req.CodeVerifier) > 128 || len(req.RedirectURI) > 2048 {
		return TokenResponse{}, oauthErr(CodeInvalidRequest, "code is required; code, code_verifier and redirect_uri have bounded lengths")
	}
	key := codeKey(req.Code)
	for range maxCodeSteps {
		raw, err := p.cfg.OneTime.Get(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return TokenResponse{}, errBadCode
		} else if err != nil {
			return TokenResponse{}, fmt.Errorf("read code: %w", err)
		}
		var rec codeRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return TokenResponse{}, fmt.Errorf("read code: %w", err)
		}
		if rec.Req.ClientID != c.ID {
			return TokenResponse{}, errBadCode
		}
		switch rec.Step {
		case codeIssued:
			if err := rec.check(p.cfg.Now(), req); err != nil {
				return TokenResponse{}, err
			}
			next := rec
			next.Step = codeRedeeming
			claimed, err := p.moveCode(ctx, key, raw, next)
			if errors.Is(err, storage.ErrConflict) {
				continue
			} else if err != nil {
				return TokenResponse{}, err
			}
			return p.redeem(ctx, c, key, claimed, next)
		case codeRedeeming, codeRedeemed:
			next := rec
			next.Step = codeReused
			if _, err := p.moveCode(ctx, key, raw, next); errors.Is(err, storage.ErrConflict) {
				continue
			} else if err != nil {
				return TokenResponse{}, err
			}
			if rec.Step == codeRedeemed {
				if err := p.endClientSession(ctx, rec.SID, audit.Event{Actor: "oidc_client:" + c.ID, Detail: "its authorization code came back"}); err != nil {
					return TokenResponse{}, err
				}
			}
			p.cfg.Audit.Record(audit.Event{Type: audit.OIDCCodeReused, UserID: rec.UserID, SessionID: rec.SID, App: c.App(),
				Actor: "oidc_client:" + c.ID, IP: audit.IP(ctx), Detail: "authorization code presented again; its tokens are revoked"})
			p.cfg.Logger.WarnContext(ctx, "authorization code reused; its session is revoked", "client_id", c.ID, "sid", rec.SID)
			return TokenResponse{}, oauthErr(CodeInvalidGrant, "the code was already used; the tokens issued for it are revoked")
		default:
			return TokenResponse{}, errBadCode
		}
	}
	return TokenResponse{}, errBadCode
}

// check holds a fresh code to its request: unexpired, the same
// redirect_uri (RFC 6749 §4.1.3), and the PKCE verifier (RFC 7636 §4.6);
// a verifier for a code issued without challenge is refused too (RFC
// 9700 §2.1.1).
func (rec codeRecord) check(now time.Time, req ExchangeRequest) error {
	switch {
	case !now.Before(rec.ExpiresAt):
		return errBadCode
	case req.RedirectURI != rec.Req.RedirectURI:
		return oauthErr(CodeInvalidGrant, "redirect_uri differs from the authorization request's")
	case rec.Req.Challenge == "" && req.CodeVerifier != "":
		return oauthErr(CodeInvalidGrant, "code_verifier given for a code issued without code_challenge")
	case rec.Req.Challenge != "":
		if req.CodeVerifier == "" {
			return oauthErr(CodeInvalidGrant, "code_verifier is required (PKCE)")
		}
		sum := sha256.Sum256([]byte(req.CodeVerifier))
		got := base64.RawURLEncoding.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(got), []byte(rec.Req.Challenge)) != 1 {
			return oauthErr(CodeInvalidGrant, "code_verifier does not match code_challenge (PKCE)")
		}
	}
	return nil
}

// moveCode compare-and-sets the record; it lives redeemedTTL from now on
// (long enough to catch a reuse).
func (p *Provider) moveCode(ctx context.Context, key string, raw []byte, next codeRecord) ([]byte, error) {
	b, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("keep code: %w", err)
	}
	err = p.cfg.OneTime.CompareAndSwap(ctx, key, raw, b, redeemedTTL)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, storage.ErrConflict):
		return nil, err
	case errors.Is(err, storage.ErrNotFound):
		return nil, errBadCode
	}
	return nil, fmt.Errorf("keep code: %w", err)
}

// redeem opens the session of a claimed code and records it; a reuse
// that came meanwhile revokes it again.
func (p *Provider) redeem(ctx context.Context, c *Client, key string, claimed []byte, rec codeRecord) (TokenResponse, error) {
	res, sid, err := p.open(ctx, c, grant{Client: c.ID, Scopes: rec.Req.Scopes, UserID: rec.UserID, Browser: rec.Browser,
		AuthTime: rec.AuthTime}, rec.Req.Nonce)
	if err != nil {
		return TokenResponse{}, err
	}
	next := rec
	next.Step, next.SID = codeRedeemed, sid
	// The record must move even if the request was cancelled: a reuse
	// reads it.
	wctx := context.WithoutCancel(ctx)
	if _, err := p.moveCode(wctx, key, claimed, next); err != nil {
		// Reused meanwhile (or the record is gone): nothing issued from
		// this code may stay.
		if rerr := p.endClientSession(wctx, sid, audit.Event{Actor: "oidc_client:" + c.ID, Detail: "its authorization code came back during redemption"}); rerr != nil {
			return TokenResponse{}, rerr
		}
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the code was already used; the tokens issued for it are revoked")
	}
	p.cfg.Audit.Record(audit.Event{Type: audit.Login, UserID: rec.UserID, SessionID: sid, App: c.App(), Actor: "user",
		IP: audit.IP(ctx), Detail: "via oidc, code redeemed by client " + c.ID})
	return res, nil
}

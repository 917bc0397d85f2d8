package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// BrowserSession is the OP's session in one browser (single sign-on
// across clients): the wxauth session the WeChat login opened, its user,
// and when the person authenticated. It travels in a sealed cookie and is
// honoured only while that session lives, so ending the session (logout,
// end_session, revocation) ends single sign-on at once.
type BrowserSession struct {
	SID      string `json:"sid"`
	UserID   string `json:"uid"`
	AuthTime int64  `json:"auth_time"`
}

const browserContext = "wxauth oidc browser v1"

// SealBrowser is the cookie value of bs.
func (p *Provider) SealBrowser(bs BrowserSession) (string, error) {
	b, err := json.Marshal(bs)
	if err != nil {
		return "", fmt.Errorf("browser session: %w", err)
	}
	sealed, err := p.cfg.Seal.Seal(b, browserContext)
	if err != nil {
		return "", fmt.Errorf("browser session: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// maxCookieLen bounds the cookie read: a real one is about 200 bytes.
const maxCookieLen = 1024

// OpenBrowser reads a cookie value and checks that its session still
// lives; ok is false for a missing, forged, or ended one. An error is a
// storage failure.
func (p *Provider) OpenBrowser(ctx context.Context, value string) (BrowserSession, bool, error) {
	if value == "" || len(value) > maxCookieLen {
		return BrowserSession{}, false, nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return BrowserSession{}, false, nil
	}
	b, err := p.cfg.Seal.Open(sealed, browserContext)
	if err != nil {
		return BrowserSession{}, false, nil
	}
	var bs BrowserSession
	if err := json.Unmarshal(b, &bs); err != nil || bs.SID == "" {
		return BrowserSession{}, false, nil
	}
	sess, err := p.cfg.Sessions.Session(ctx, bs.SID, p.cfg.Now())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return BrowserSession{}, false, nil
	case err != nil:
		return BrowserSession{}, false, fmt.Errorf("look up browser session: %w", err)
	case sess.UserID != bs.UserID:
		return BrowserSession{}, false, nil
	}
	return bs, true, nil
}

// NewBrowser is the browser session of a WeChat login that just opened
// session sid for userID, and how long its cookie should live (the
// session's idle expiry).
func (p *Provider) NewBrowser(sid, userID string, expires time.Time) (BrowserSession, time.Duration) {
	now := p.cfg.Now()
	return BrowserSession{SID: sid, UserID: userID, AuthTime: now.Unix()}, expires.Sub(now)
}

// bindContext seals the bind step's cookie.
const bindContext = "wxauth oidc bind v1"

// bindState is what the bind step's cookie carries: the login's bind
// ticket and the kept authorization request it finishes.
type bindState struct {
	Ticket  string `json:"ticket"`
	Request string `json:"request"`
}

// SealBind is the cookie value of a login waiting for its phone: the
// ticket never reaches the page, and a page of another site cannot post
// with it (the cookie is SameSite=Lax).
func (p *Provider) SealBind(ticket, requestID string) (string, error) {
	b, err := json.Marshal(bindState{Ticket: ticket, Request: requestID})
	if err != nil {
		return "", fmt.Errorf("bind state: %w", err)
	}
	sealed, err := p.cfg.Seal.Seal(b, bindContext)
	if err != nil {
		return "", fmt.Errorf("bind state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenBind reads the bind step's cookie; ok false for a missing or forged
// one.
func (p *Provider) OpenBind(value string) (ticket, requestID string, ok bool) {
	if value == "" || len(value) > maxCookieLen {
		return "", "", false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return "", "", false
	}
	b, err := p.cfg.Seal.Open(sealed, bindContext)
	if err != nil {
		return "", "", false
	}
	var st bindState
	if json.Unmarshal(b, &st) != nil || st.Ticket == "" {
		return "", "", false
	}
	return st.Ticket, st.Request, true
}

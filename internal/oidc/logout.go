package oidc

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
)

// maxLinks bounds the sessions one browser session records as opened
// through it; when a new one would pass it, the oldest is revoked, so
// that every session the browser's login opened is either recorded (and
// ended by end_session) or already ended.
const maxLinks = 32

func linksKey(browserSID string) string { return "oidc:links:" + browserSID }

// link records that browser session bsid opened client session sid.
func (p *Provider) link(ctx context.Context, bsid, sid string, until time.Time) error {
	key := linksKey(bsid)
	ttl := until.Sub(p.cfg.Now())
	for range maxCodeSteps {
		raw, err := p.cfg.OneTime.Get(ctx, key)
		var sids []string
		switch {
		case errors.Is(err, storage.ErrNotFound):
			b, _ := json.Marshal([]string{sid})
			err := p.cfg.OneTime.PutOnce(ctx, key, b, ttl)
			if errors.Is(err, storage.ErrConflict) {
				continue
			}
			return err
		case err != nil:
			return err
		}
		if err := json.Unmarshal(raw, &sids); err != nil {
			return fmt.Errorf("read links: %w", err)
		}
		var dropped []string
		if len(sids) >= p.linkMax {
			dropped, sids = sids[:len(sids)-p.linkMax+1], sids[len(sids)-p.linkMax+1:]
		}
		b, _ := json.Marshal(append(sids, sid))
		err = p.cfg.OneTime.CompareAndSwap(ctx, key, raw, b, ttl)
		if errors.Is(err, storage.ErrConflict) {
			continue
		} else if err != nil {
			return err
		}
		for _, d := range dropped {
			if err := p.endClientSession(ctx, d, audit.Event{Actor: "system", Detail: fmt.Sprintf("the oldest of more than %d sessions one browser login opened", p.linkMax)}); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.New("the browser session's links keep changing")
}

// endClientSession revokes a session an OIDC login opened and forgets its
// grant. A session that had a grant is recorded as revoked, by why's Actor
// and for why's Detail.
func (p *Provider) endClientSession(ctx context.Context, sid string, why audit.Event) error {
	if sid == "" {
		return nil
	}
	if err := p.cfg.Tokens.Revoke(ctx, sid); err != nil {
		return err
	}
	raw, err := p.cfg.OneTime.Take(ctx, grantKey(sid))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("forget grant: %w", err)
	}
	var g grant
	if json.Unmarshal(raw, &g) == nil {
		why.Type, why.UserID, why.SessionID, why.App, why.IP = audit.Revoked, g.UserID, sid, AppPrefix+g.Client, audit.IP(ctx)
		p.cfg.Audit.Record(why)
	}
	return nil
}

// EndSession ends browser session bsid and every session it opened for
// clients (RP-initiated logout): their refresh tokens stop at once and
// their access tokens fail wherever sessions are checked or the
// revocation feed is followed.
//
// A browser session that replaced an earlier one of the same person (a
// new WeChat login for prompt=login or max_age, see [Provider.Adopt]) has
// that one among its links, so the sign-out reaches every session the
// browser's logins opened. The walk is bounded by maxEnded.
func (p *Provider) EndSession(ctx context.Context, bsid string) error {
	if bsid == "" {
		return nil
	}
	queue, seen := []string{bsid}, map[string]bool{bsid: true}
	var errs []error
	for len(queue) > 0 && len(seen) <= maxEnded {
		sid := queue[0]
		queue = queue[1:]
		if err := p.endClientSession(ctx, sid, audit.Event{Actor: "user", Detail: "end_session (RP-initiated logout)"}); err != nil {
			errs = append(errs, err)
			continue
		}
		raw, err := p.cfg.OneTime.Take(ctx, linksKey(sid))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		} else if err != nil {
			errs = append(errs, fmt.Errorf("read links: %w", err))
			continue
		}
		var sids []string
		if err := json.Unmarshal(raw, &sids); err != nil {
			errs = append(errs, fmt.Errorf("read links: %w", err))
			continue
		}
		for _, child := range sids {
			if !seen[child] {
				seen[child] = true
				queue = append(queue, child)
			}
		}
	}
	return errors.Join(errs...)
}

// maxEnded bounds the sessions one sign-out walks.
const maxEnded = 1024

// Adopt records that browser session next replaced prev in one browser,
// for the same person: ending next ends prev and what prev opened too.
// Sessions of another person are not adopted (they are theirs to end).
func (p *Provider) Adopt(ctx context.Context, prev, next BrowserSession, until time.Time) error {
	if prev.SID == "" || prev.SID == next.SID || prev.UserID != next.UserID {
		return nil
	}
	return p.link(ctx, next.SID, prev.SID, until)
}

// Hint is what a valid id_token_hint says (OIDC RP-Initiated Logout §2).
type Hint struct {
	Client *Client
	// BrowserSID is the OP session the ID token was issued in.
	BrowserSID string
}

// ParseHint checks an id_token_hint: signed by one of the server's keys,
// issued here to a registered client. It may have expired (the spec
// allows an expired hint).
func (p *Provider) ParseHint(hint string) (Hint, bool) {
	if len(hint) > 8192 {
		return Hint{}, false
	}
	parts := strings.Split(hint, ".")
	if len(parts) != 3 {
		return Hint{}, false
	}
	enc := base64.RawURLEncoding
	hb, err1 := enc.DecodeString(parts[0])
	pb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return Hint{}, false
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &h) != nil || h.Alg != SigningAlg {
		return Hint{}, false
	}
	pub, ok := p.cfg.Keys.PublicKey(h.Kid)
	if !ok || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return Hint{}, false
	}
	var c idClaims
	if json.Unmarshal(pb, &c) != nil || c.Issuer != p.cfg.Issuer {
		return Hint{}, false
	}
	client, ok := p.cfg.Clients.Client(c.Audience)
	if !ok {
		return Hint{}, false
	}
	return Hint{Client: client, BrowserSID: c.SessionID}, true
}

// PostLogoutRedirect is where end_session sends the browser: uri if it
// is registered exactly for c, with state; ok false otherwise.
func (p *Provider) PostLogoutRedirect(c *Client, uri, state string) (string, bool) {
	if c == nil || uri == "" || !slices.Contains(c.PostLogoutRedirectURIs, uri) {
		return "", false
	}
	if state == "" {
		return uri, true
	}
	return addQuery(uri, map[string][]string{"state": {state}}), true
}

// Revoke is RFC 7009 for client c: a refresh or access token of one of
// c's sessions ends that session. Unknown, expired, or other clients'
// tokens change nothing and are not an error (§2.2).
func (p *Provider) Revoke(ctx context.Context, c *Client, tok string) error {
	if len(tok) > 4096 {
		return nil
	}
	sid, ok := p.cfg.Tokens.RefreshSessionID(tok)
	if !ok {
		claims, err := p.cfg.Tokens.Verify(tok)
		if err != nil && !errors.Is(err, token.ErrTokenExpired) {
			return nil
		}
		if claims.App != c.App() {
			return nil
		}
		sid = claims.SessionID
	}
	sess, err := p.cfg.Sessions.Session(ctx, sid, p.cfg.Now())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("look up session: %w", err)
	case sess.App != c.App():
		return nil
	}
	return p.endClientSession(ctx, sid, audit.Event{Actor: "oidc_client:" + c.ID, Detail: "/oauth2/revoke (RFC 7009)"})
}

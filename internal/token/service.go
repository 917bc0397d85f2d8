package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/storage"
)

// Config configures a [Service]. Durations at zero take the defaults of
// docs/configuration.md.
type Config struct {
	// Issuer is the iss claim, and the expected iss when verifying. Required.
	Issuer string
	// Audience is the aud claim; empty means the Issuer.
	Audience string
	// AccessTTL is the access tokens' lifetime (default 2h).
	AccessTTL time.Duration
	// RefreshTTL is a session's idle lifetime, sliding with each refresh
	// (default 168h).
	RefreshTTL time.Duration
	// SessionMaxAge caps a session's life however often it refreshes
	// (default 720h).
	SessionMaxAge time.Duration
	// ReuseGrace is how long a rotated refresh token may be replayed and get
	// the same successor (default 30s). Negative means no grace at all.
	ReuseGrace time.Duration
	// Keys signs and verifies access tokens. Required.
	Keys Keys
	// Sessions stores sessions. Required.
	Sessions storage.Sessions
	// Secret (at least 32 bytes) keys the refresh tokens' MAC and chain.
	// Changing it invalidates every refresh token. Required.
	Secret []byte
	// Revocations, if set, is told of every revoked session (logout,
	// revocation, reuse detection), for the push to other instances and
	// resource servers (storage.Revocations).
	Revocations interface {
		PublishRevoked(ctx context.Context, r storage.RevokedSession) error
	}
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for ids and secrets; nil means crypto/rand.
	Rand io.Reader
}

// Service issues, refreshes, checks and revokes wxauth's tokens. It is safe
// for concurrent use and keeps no session state of its own, so several
// instances on one session store act as one.
type Service struct {
	cfg    Config
	keys   atomic.Pointer[keyHolder]
	rk     refreshKeys
	verify *verifier
}

type keyHolder struct {
	keys Keys
	// hdr caches the encoded JOSE header of the last signing key; Keys may
	// change its current key at any time (a key ring), so it is keyed by kid.
	hdr atomic.Pointer[cachedHeader]
}

type cachedHeader struct {
	kid string
	enc []byte
}

// header is the encoded JOSE header for key.
func (kh *keyHolder) header(key *signer.Key) []byte {
	if h := kh.hdr.Load(); h != nil && h.kid == key.ID {
		return h.enc
	}
	h := &cachedHeader{kid: key.ID, enc: encodedHeader(key)}
	kh.hdr.Store(h)
	return h.enc
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("token: Config.Issuer is required")
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if cfg.Keys == nil {
		return nil, errors.New("token: Config.Keys is required")
	}
	if cfg.Sessions == nil {
		return nil, errors.New("token: Config.Sessions is required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("token: Config.Secret must be at least 32 bytes")
	}
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{
		{&cfg.AccessTTL, 2 * time.Hour},
		{&cfg.RefreshTTL, 168 * time.Hour},
		{&cfg.SessionMaxAge, 720 * time.Hour},
		{&cfg.ReuseGrace, 30 * time.Second},
	}
	for _, d := range defaults {
		if *d.d == 0 {
			*d.d = d.def
		}
	}
	if cfg.ReuseGrace < 0 {
		cfg.ReuseGrace = 0
	}
	if cfg.AccessTTL < 0 || cfg.RefreshTTL < 0 || cfg.SessionMaxAge < 0 {
		return nil, errors.New("token: lifetimes must be positive")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	rk, err := deriveRefreshKeys(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("token: derive refresh keys: %w", err)
	}
	s := &Service{cfg: cfg, rk: rk}
	s.SetKeys(cfg.Keys)
	s.verify = newVerifier(func() Keys { return s.keys.Load().keys }, cfg.Issuer, cfg.Audience, cfg.Now)
	return s, nil
}

// SetKeys swaps the signing and verification keys. Tokens signed with a key
// that is no longer in keys stop verifying. Keys whose Current changes over
// time (a key ring) need not be set again.
func (s *Service) SetKeys(keys Keys) {
	s.keys.Store(&keyHolder{keys: keys})
}

// Pair is what a login or a refresh hands out.
type Pair struct {
	// IssuedAt is when the pair was made; lifetimes in the response count
	// from it.
	IssuedAt         time.Time
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	Session          storage.Session
}

// Response is p as the contract's token response; user is nil for a refresh.
func (p Pair) Response(user *api.User, isNew bool) api.TokenResponse {
	return api.TokenResponse{
		AccessToken:      p.AccessToken,
		TokenType:        "Bearer",
		ExpiresIn:        secondsUntil(p.AccessExpiresAt, p.IssuedAt),
		RefreshToken:     p.RefreshToken,
		RefreshExpiresIn: secondsUntil(p.RefreshExpiresAt, p.IssuedAt),
		SessionID:        p.Session.ID,
		User:             user,
		IsNewUser:        isNew,
	}
}

func secondsUntil(t, now time.Time) int64 {
	d := t.Sub(now)
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}

// OpenRequest asks [Service.Open] for a new session.
type OpenRequest struct {
	// UserID is the user logged in; App the app key logged in through.
	UserID, App string
	// SessionKey is the login's sealed WeChat credentials (a mini program's
	// session_key, or a browser login's OAuth user tokens), kept with the
	// session (storage.Session.SessionKey) for the calls that need them,
	// which name the session by the sid of their access token.
	SessionKey []byte
	// Quotas are charged with the new session (storage.Sessions.CreateSession):
	// one over its limit returns a *storage.LimitError and opens nothing.
	Quotas []storage.Quota
}

// Open starts a session for req.UserID logged in through req.App and
// returns its first token pair.
func (s *Service) Open(ctx context.Context, req OpenRequest) (Pair, error) {
	now := s.cfg.Now().UTC()
	var raw [sidLen + secretLen]byte
	if _, err := io.ReadFull(s.cfg.Rand, raw[:]); err != nil {
		return Pair{}, fmt.Errorf("open session: %w", err)
	}
	rt := s.rk.mint(raw[:sidLen], 0, raw[sidLen:])
	sess := storage.Session{
		ID:           rt.sessionID(),
		UserID:       req.UserID,
		App:          req.App,
		SessionKey:   req.SessionKey,
		CreatedAt:    now,
		LastUsedAt:   now,
		MaxExpiresAt: now.Add(s.cfg.SessionMaxAge),
		Hash:         rt.hash(),
	}
	sess.ExpiresAt = storage.SlideExpiry(now, s.cfg.RefreshTTL, sess.MaxExpiresAt)
	if err := s.cfg.Sessions.CreateSession(ctx, sess, req.Quotas...); err != nil {
		return Pair{}, fmt.Errorf("open session: %w", err)
	}
	return s.pair(now, sess, rt)
}

// Refresh uses a refresh token (docs/api.md "Sessions"): the live token
// rotates; the token rotated less than ReuseGrace ago gets the same successor
// again and changes nothing; an older one revokes the session and returns
// [ErrReused], with the revoked session's ID and UserID in the Pair's
// Session (for the audit trail; no tokens); anything else returns
// [ErrInvalidGrant]. The quotas are
// charged with the rotation (storage.RotateRequest.Quotas); one over its
// limit returns a *storage.LimitError and spends nothing.
func (s *Service) Refresh(ctx context.Context, refreshToken string, quotas ...storage.Quota) (Pair, error) {
	rt, err := s.rk.parse(refreshToken)
	if err != nil {
		return Pair{}, ErrInvalidGrant
	}
	next := s.rk.successor(rt)
	now := s.cfg.Now().UTC()
	sess, outcome, err := s.cfg.Sessions.Rotate(ctx, storage.RotateRequest{
		SessionID: rt.sessionID(),
		Gen:       rt.gen(),
		Hash:      rt.hash(),
		NextHash:  next.hash(),
		Now:       now,
		Grace:     s.cfg.ReuseGrace,
		IdleTTL:   s.cfg.RefreshTTL,
		Quotas:    quotas,
	})
	if err != nil {
		return Pair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	switch outcome {
	case storage.Rotated, storage.GraceReplay:
		return s.pair(now, sess, next)
	case storage.Reused:
		if err := s.announce(ctx, rt.sessionID()); err != nil {
			return Pair{Session: sess}, errors.Join(ErrReused, err)
		}
		return Pair{Session: sess}, ErrReused
	default:
		return Pair{}, ErrInvalidGrant
	}
}

// pair signs an access token for sess and pairs it with rt. The access
// token never outlives the session.
func (s *Service) pair(now time.Time, sess storage.Session, rt refreshToken) (Pair, error) {
	var jti [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, jti[:]); err != nil {
		return Pair{}, fmt.Errorf("token id: %w", err)
	}
	exp := now.Add(s.cfg.AccessTTL)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	kh := s.keys.Load()
	key := kh.keys.Current()
	c := api.Claims{
		Issuer:    s.cfg.Issuer,
		Audience:  s.cfg.Audience,
		Subject:   sess.UserID,
		SessionID: sess.ID,
		IssuedAt:  now.Unix(),
		Expiry:    exp.Unix(),
		App:       sess.App,
	}
	return Pair{
		IssuedAt:         time.Unix(c.IssuedAt, 0),
		AccessToken:      signAccess(key, kh.header(key), &c, &jti),
		AccessExpiresAt:  time.Unix(c.Expiry, 0),
		RefreshToken:     rt.String(),
		RefreshExpiresAt: sess.ExpiresAt,
		Session:          sess,
	}, nil
}

// Verify checks an access token's signature, issuer, audience and expiry
// without consulting the session store: [ErrInvalidToken] or
// [ErrTokenExpired] when it fails.
func (s *Service) Verify(accessToken string) (api.Claims, error) {
	return s.verify.verify(accessToken)
}

// Authenticate is [Service.Verify] plus a look at the session, so that a
// logged-out session's access tokens fail at once with [ErrSessionRevoked].
// The look-up is one Session read from the store.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (api.Claims, error) {
	c, err := s.verify.verify(accessToken)
	if err != nil {
		return c, err
	}
	sess, err := s.cfg.Sessions.Session(ctx, c.SessionID, s.cfg.Now())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return api.Claims{}, ErrSessionRevoked
	case err != nil:
		return api.Claims{}, fmt.Errorf("look up session: %w", err)
	case sess.UserID != c.Subject:
		return api.Claims{}, ErrInvalidToken
	}
	return c, nil
}

// Revoke ends one session: its refresh token stops working and its access
// tokens fail [Service.Authenticate] at once. Revoking a session that is
// already gone is not an error.
func (s *Service) Revoke(ctx context.Context, sessionID string) error {
	if err := s.cfg.Sessions.RevokeSession(ctx, sessionID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("revoke session: %w", err)
	}
	return s.announce(ctx, sessionID)
}

// RevokeUser ends every session of a user and says how many there were.
func (s *Service) RevokeUser(ctx context.Context, userID string) (int, error) {
	// The sids first, for the announcement: the store deletes them.
	live, err := s.cfg.Sessions.UserSessions(ctx, userID, s.cfg.Now())
	if err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	n, err := s.cfg.Sessions.RevokeUserSessions(ctx, userID)
	if err != nil {
		return n, fmt.Errorf("revoke user sessions: %w", err)
	}
	var errs []error
	for _, sess := range live {
		errs = append(errs, s.announce(ctx, sess.ID))
	}
	return n, errors.Join(errs...)
}

// announce tells the subscribers of Config.Revocations (other instances,
// resource servers) that sid's access tokens are void, until the last one
// it can have issued has expired. A revocation whose announcement fails is
// still in force here; the error says the push may not have reached
// everyone, and revoking again announces again.
func (s *Service) announce(ctx context.Context, sid string) error {
	if s.cfg.Revocations == nil {
		return nil
	}
	until := s.cfg.Now().Add(s.cfg.AccessTTL + time.Minute) // a minute of clock skew
	if err := s.cfg.Revocations.PublishRevoked(ctx, storage.RevokedSession{SID: sid, Until: until}); err != nil {
		return fmt.Errorf("announce revocation: %w", err)
	}
	return nil
}

// RefreshSessionID is the session a refresh token belongs to, if the token
// is authentic (its MAC verifies); no storage is read. Callers use it to
// apply per-session limits before [Service.Refresh].
func (s *Service) RefreshSessionID(refreshToken string) (string, bool) {
	rt, err := s.rk.parse(refreshToken)
	if err != nil {
		return "", false
	}
	return rt.sessionID(), true
}

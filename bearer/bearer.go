package bearer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/jwt"
	"github.com/wxauth/wxauth/internal/tokenheader"
)

// Errors of [Verifier.Verify]. Each maps to one error code of the contract
// (docs/api.md "Errors"), which is what [Verifier.Middleware] answers.
var (
	// ErrInvalidToken: missing, malformed, unknown kid, wrong algorithm,
	// signature, issuer or audience, not yet valid, or issued in the
	// future (api.CodeInvalidToken, 401).
	ErrInvalidToken = errors.New("bearer: invalid token")
	// ErrTokenExpired: at or past exp (no leeway, as at wxauth itself); the
	// client should refresh (api.CodeTokenExpired, 401).
	ErrTokenExpired = errors.New("bearer: token expired")
	// ErrSessionRevoked: the token's session was logged out or revoked
	// (api.CodeSessionRevoked, 401).
	ErrSessionRevoked = errors.New("bearer: session revoked")
	// ErrUnavailable: the token cannot be checked now: the JWKS cannot be
	// fetched, or the revocation push is down and the fallback is
	// [FailClosed] or introspection failed (api.CodeUnavailable, 503).
	ErrUnavailable = errors.New("bearer: token checks unavailable")
)

// Fallback says what a [Verifier] does while its revocation push is not live
// (not yet connected, cut off, reconnecting): it cannot know then whether a
// session was revoked.
type Fallback int

const (
	// FailClosed refuses every token with [ErrUnavailable] (503
	// unavailable) while the push is down, except those it already knows to
	// be revoked. It is the zero value: never accept what might be revoked.
	FailClosed Fallback = iota
	// Introspect asks wxauth about each token (POST /v1/introspect, RFC 7662,
	// with the service key) while the push is down: a round trip per request,
	// but no outage for clients as long as wxauth answers.
	Introspect
)

func (f Fallback) String() string {
	switch f {
	case FailClosed:
		return "fail_closed"
	case Introspect:
		return "introspect"
	}
	return fmt.Sprintf("Fallback(%d)", int(f))
}

// Config configures a [Verifier]. Only Issuer is required; every other zero
// value is a sensible default.
type Config struct {
	// Issuer is wxauth's public base URL, exactly as in the tokens' iss claim
	// (e.g. "https://auth.example.com"). Required.
	Issuer string
	// Audience is the aud the tokens must carry. Zero: Issuer, which is what
	// wxauth issues unless its `audience` is configured.
	Audience string
	// JWKSURL is where the signing keys are published. Zero: Issuer +
	// "/.well-known/jwks.json".
	JWKSURL string
	// HTTPClient makes every call to wxauth. Nil: a client with connect,
	// TLS and response timeouts (10 s). For the revocation stream its
	// Timeout is ignored (the stream is long-lived); a stream that stays
	// silent past three missed pings is dropped and reopened instead.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on nbf and iat: how far ahead of
	// this machine's clock wxauth's may run. exp gets none, as at wxauth
	// itself (a token refused a little early costs one refresh). Zero:
	// 30 s; negative: none.
	Leeway time.Duration
	// MinRefetch is the least time between two JWKS fetches triggered by
	// unknown kids or stale keys, so that a flood of tokens with made-up
	// kids costs wxauth one request per interval. Zero: 10 s.
	MinRefetch time.Duration
	// CacheSize bounds the cache of verified tokens (entries). Zero: 10 000;
	// negative: no cache, every check verifies the signature.
	CacheSize int
	// TokenHeader names a header, such as "X-Wx-Ticket", from which
	// [Verifier.Middleware] reads the raw access token, as wxauth does with
	// its token_header. Authorization: Bearer is still accepted beside it
	// (the Go client sends that); both present with different tokens, or
	// the header twice, is 400 invalid_request. It must be a header of
	// your own (not Cookie, Host, Content-Type, …). Zero: Authorization:
	// Bearer only.
	TokenHeader string

	// ServiceKey is one of wxauth's configured service keys, with the
	// scope revocations (and introspect for the [Introspect] fallback;
	// docs/api.md "Service keys"). With it the
	// Verifier subscribes to the revocation push and refuses the tokens of
	// revoked sessions at once. Without it, revocations are not seen: a
	// logged-out session's access tokens work until they expire (2 h by
	// default).
	ServiceKey string
	// RevocationsURL is the revocation push (GET, Server-Sent Events; see
	// [api.Revocation]). Zero: Issuer + "/v1/revocations" when ServiceKey
	// is set.
	RevocationsURL string
	// IntrospectURL is RFC 7662 introspection, used by the [Introspect]
	// fallback. Zero: Issuer + "/v1/introspect".
	IntrospectURL string
	// OnLostRevocations is what to do while the push is down. Zero:
	// [FailClosed].
	OnLostRevocations Fallback

	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger receives the few events worth an operator's attention (the push
	// lost and regained, JWKS fetch failures). Nil: discard.
	Logger *slog.Logger
}

// Defaults of [Config].
const (
	DefaultLeeway     = jwt.DefaultLeeway
	DefaultMinRefetch = 10 * time.Second
	DefaultCacheSize  = 10_000
)

// Verifier checks wxauth access tokens locally: the signature against the
// cached JWKS, the registered claims, and the session against the revocation
// push. It is safe for concurrent use. Close it to stop the push's
// subscriber.
type Verifier struct {
	issuer, audience string
	leeway           time.Duration
	now              func() time.Time
	log              *slog.Logger
	httpc            *http.Client

	keys  *keySource
	cache *tokenCache // nil: no cache

	tokenHeader   string  // Config.TokenHeader
	answerMissing *answer // names where the token goes
	serviceKey    string
	introspectURL string
	fallback      Fallback
	revoked       *revokedSet
	sub           *subscriber // nil: no push
}

// New checks cfg and makes a Verifier. It makes no network call: the JWKS is
// fetched on first need (or by [Verifier.Start]).
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("bearer: Config.Issuer is required")
	}
	if err := checkURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("bearer: Config.Issuer: %w", err)
	}
	if err := tokenheader.Check(cfg.TokenHeader); err != nil {
		return nil, fmt.Errorf("bearer: Config.TokenHeader: %w", err)
	}
	base := strings.TrimSuffix(cfg.Issuer, "/")
	v := &Verifier{
		tokenHeader:   cfg.TokenHeader,
		answerMissing: newAnswer(api.CodeInvalidToken, "an access token is required: "+tokenheader.Describe(cfg.TokenHeader)),
		issuer:        cfg.Issuer,
		audience:      cmp.Or(cfg.Audience, cfg.Issuer),
		leeway:        cfg.Leeway,
		now:           cfg.Now,
		log:           cfg.Logger,
		httpc:         cfg.HTTPClient,
		serviceKey:    cfg.ServiceKey,
		introspectURL: cmp.Or(cfg.IntrospectURL, base+"/v1/introspect"),
		fallback:      cfg.OnLostRevocations,
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.httpc == nil {
		v.httpc = defaultHTTPClient()
	}
	minRefetch := cfg.MinRefetch
	if minRefetch <= 0 {
		minRefetch = DefaultMinRefetch
	}
	jwksURL := cmp.Or(cfg.JWKSURL, base+"/.well-known/jwks.json")
	if err := checkURL(jwksURL); err != nil {
		return nil, fmt.Errorf("bearer: Config.JWKSURL: %w", err)
	}
	v.keys = newKeySource(jwksURL, v.httpc, minRefetch, v.now, v.log)
	switch size := cfg.CacheSize; {
	case size == 0:
		v.cache = newTokenCache(DefaultCacheSize)
	case size > 0:
		v.cache = newTokenCache(size)
	}
	v.keys.onKeyRemoved = func() {
		if v.cache != nil {
			v.cache.purge()
		}
	}

	if cfg.OnLostRevocations != FailClosed && cfg.OnLostRevocations != Introspect {
		return nil, fmt.Errorf("bearer: Config.OnLostRevocations: unknown value %d", int(cfg.OnLostRevocations))
	}
	if cfg.ServiceKey == "" {
		if cfg.RevocationsURL != "" {
			return nil, errors.New("bearer: Config.RevocationsURL needs Config.ServiceKey")
		}
		if cfg.OnLostRevocations == Introspect {
			return nil, errors.New("bearer: Config.OnLostRevocations Introspect needs Config.ServiceKey")
		}
		return v, nil
	}
	if err := checkURL(v.introspectURL); err != nil {
		return nil, fmt.Errorf("bearer: Config.IntrospectURL: %w", err)
	}
	revURL := cmp.Or(cfg.RevocationsURL, base+"/v1/revocations")
	if err := checkURL(revURL); err != nil {
		return nil, fmt.Errorf("bearer: Config.RevocationsURL: %w", err)
	}
	v.revoked = newRevokedSet(v.leeway)
	v.sub = newSubscriber(revURL, cfg.ServiceKey, streamClient(v.httpc), v.revoked, v.now, v.log)
	return v, nil
}

// Start loads the signing keys and, with a service key, starts the
// revocation subscriber; then it waits until both are ready or ctx ends. ctx
// bounds only the wait: the subscriber runs until [Verifier.Close], and
// reconnects with backoff whenever the stream drops.
//
// Calling Start is optional but recommended before serving: without it the
// first [Verifier.Verify] fetches the keys and starts the subscriber, and
// the requests that arrive before the push is live get the
// [Config.OnLostRevocations] treatment. An error means something is not
// ready yet; the Verifier keeps trying and stays usable.
func (v *Verifier) Start(ctx context.Context) error {
	if v.sub != nil {
		v.sub.start() // connects while the keys are fetched
	}
	var errs []error
	if _, err := v.keys.get(ctx); err != nil {
		errs = append(errs, err)
	}
	if v.sub != nil {
		if err := v.sub.live.wait(ctx, true); err != nil {
			errs = append(errs, fmt.Errorf("revocation push not live: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Close stops the revocation subscriber and waits for it to exit. Tokens of
// sessions revoked afterwards are no longer seen: with a service key, Verify
// answers per [Config.OnLostRevocations] from then on. Close is idempotent.
func (v *Verifier) Close() error {
	if v.sub != nil {
		v.sub.close()
	}
	return nil
}

// Live reports whether the revocation push is connected and has delivered
// its snapshot. Without a service key there is no push and Live is false.
func (v *Verifier) Live() bool { return v.sub != nil && v.sub.live.get() }

// Verify checks an access token (without the "Bearer " prefix) and returns
// its claims. A token seen before is a cache look-up; otherwise the
// signature is checked against the JWKS. Either way exp is checked against
// the clock and the session against the revocation push. Errors wrap
// [ErrInvalidToken], [ErrTokenExpired], [ErrSessionRevoked] or
// [ErrUnavailable].
func (v *Verifier) Verify(ctx context.Context, token string) (api.Claims, error) {
	c, err := v.verify(ctx, token)
	if err != nil {
		return api.Claims{}, err
	}
	return *c, nil
}

// verify is Verify returning the claims by pointer: a cached token's claims
// are shared, never modified.
func (v *Verifier) verify(ctx context.Context, token string) (*api.Claims, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: no token", ErrInvalidToken)
	}
	now := v.now()
	var (
		c     *api.Claims
		key   cacheKey
		epoch uint64
	)
	if v.cache != nil {
		key = hashToken(token)
		epoch = v.cache.epoch.Load()
		c = v.cache.get(&key)
	}
	if c != nil {
		if err := v.checkExpiry(c, now); err != nil {
			return nil, err
		}
	} else {
		var err error
		if c, err = v.verifySigned(ctx, token, now); err != nil {
			return nil, err
		}
		if v.cache != nil {
			v.cache.put(&key, c, epoch)
		}
	}
	if v.sub == nil {
		return c, nil
	}
	if v.revoked.has(c.SessionID) {
		return nil, fmt.Errorf("%w: sid %s", ErrSessionRevoked, c.SessionID)
	}
	if v.sub.live.get() {
		return c, nil
	}
	v.sub.start() // lazily, if Start was not called
	if v.fallback == Introspect {
		if err := v.introspect(ctx, token, c); err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: revocation push not live", ErrUnavailable)
}

// checkExpiry refuses a cached token at or past exp, by the same rule as
// the first check (internal/jwt).
func (v *Verifier) checkExpiry(c *api.Claims, now time.Time) error {
	if err := jwt.CheckExpiry(c.Expiry, now); err != nil {
		return checkError(err)
	}
	return nil
}

func defaultHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// streamClient is c without its overall timeout, which would cut the
// long-lived revocation stream; the subscriber watches for silence instead.
func streamClient(c *http.Client) *http.Client {
	sc := *c
	sc.Timeout = 0
	return &sc
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"
)

const (
	endpointToken       = "/cgi-bin/token"
	endpointStableToken = "/cgi-bin/stable_token"
)

// Token fetches a new app access token (GET /cgi-bin/token, reference
// §2.1). Every success mints a new token and retires the previous one five
// minutes later, and counts against a daily quota of 2000: call it from one
// place only, through a [TokenManager]. ExpiresAt is counted from the
// moment the request is sent (Config.Now), so it errs early.
//
// Empty arguments are [ErrInvalidRequest] and no call is made; a wrong
// secret is [ErrBadCredential] (40001 means that here, not a bad token); an
// exhausted quota is [ErrRateLimited].
func (c *Client) Token(ctx context.Context, appID, secret string) (AppToken, error) {
	if err := checkAppArgs("token", appID, secret); err != nil {
		return AppToken{}, err
	}
	q := url.Values{
		"grant_type": {"client_credential"},
		"appid":      {appID},
		"secret":     {secret},
	}
	start := c.now()
	var resp tokenResponse
	if err := c.getJSON(ctx, endpointToken, q, &resp); err != nil {
		return AppToken{}, err
	}
	return resp.appToken(start), nil
}

// StableToken fetches the app's stable access token (POST
// /cgi-bin/stable_token, reference §2.2), which WeChat keeps apart from the
// tokens of [Client.Token]. In normal mode (forceRefresh false) every call
// during the token's life returns the same token with its remaining
// lifetime, and WeChat rotates it in its last five minutes. forceRefresh
// true retires the current token for every holder and is limited to 20
// calls a day, 30 s apart: use it only when a token has leaked.
//
// Errors are classified as for [Client.Token]; the secret travels in the
// JSON body and is kept out of errors like a query secret.
func (c *Client) StableToken(ctx context.Context, appID, secret string, forceRefresh bool) (AppToken, error) {
	if err := checkAppArgs("stable token", appID, secret); err != nil {
		return AppToken{}, err
	}
	body := stableTokenRequest{GrantType: "client_credential", AppID: appID, Secret: secret, ForceRefresh: forceRefresh}
	start := c.now()
	var resp tokenResponse
	err := c.do(ctx, request{method: "POST", endpoint: endpointStableToken, appID: appID, body: body, secrets: []string{secret},
		idempotent: !forceRefresh}, &resp)
	if err != nil {
		return AppToken{}, err
	}
	return resp.appToken(start), nil
}

func checkAppArgs(what, appID, secret string) error {
	switch {
	case appID == "":
		return fmt.Errorf("%w: %s: empty app ID", ErrInvalidRequest, what)
	case secret == "":
		return fmt.Errorf("%w: %s: empty secret", ErrInvalidRequest, what)
	}
	return nil
}

type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// tokenResponse is the success answer of both token endpoints.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (r *tokenResponse) validate() error {
	switch {
	case r.AccessToken == "":
		return errMissingField("access_token")
	case r.ExpiresIn <= 0:
		return errors.New("success without a positive expires_in")
	}
	return nil
}

func (r *tokenResponse) appToken(start time.Time) AppToken {
	return AppToken{Token: r.AccessToken, ExpiresAt: start.Add(time.Duration(r.ExpiresIn) * time.Second)}
}

// LogValue implements [slog.LogValuer]: the expiry, and the token redacted.
func (t AppToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token", redactedKey(t.Token)),
		slog.Time("expires_at", t.ExpiresAt),
	)
}

// String returns the AppToken with its Token redacted.
func (t AppToken) String() string {
	return fmt.Sprintf("{Token:%s ExpiresAt:%s}", redactedKey(t.Token), t.ExpiresAt)
}

// GoString returns the AppToken as Go syntax with its Token redacted.
func (t AppToken) GoString() string {
	return fmt.Sprintf("wechat.AppToken{Token:%q, ExpiresAt:%#v}", redactedKey(t.Token), t.ExpiresAt)
}

// Format implements [fmt.Formatter] so that no verb prints the Token.
func (t AppToken) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, t.GoString())
		return
	}
	io.WriteString(f, t.String())
}

// Defaults of [TokenManagerConfig].
const (
	DefaultRefreshBefore = 5 * time.Minute
	DefaultLockTTL       = 10 * time.Second
	DefaultWaitTimeout   = 5 * time.Second
)

// maxRefreshBefore bounds RefreshBefore well under a token's two-hour life
// (reference §2.1), so that a fresh token is never already due.
const maxRefreshBefore = time.Hour

// pollInterval is how often a caller waiting for another process's fetch
// looks at the cache.
const pollInterval = 20 * time.Millisecond

// TokenManagerConfig configures a [TokenManager].
type TokenManagerConfig struct {
	// Client fetches the tokens. Required.
	Client *Client
	// Cache holds the tokens and the fetch lock, shared by every process
	// that calls WeChat for these apps. Required: use
	// [NewMemoryTokenCache] for a program that runs as one process.
	Cache TokenCache
	// Secrets gives an app's AppSecret; ok false means the app is unknown
	// and its tokens are refused with [ErrInvalidRequest]. Required.
	Secrets func(appID string) (secret string, ok bool)
	// Legacy fetches with /cgi-bin/token (reference §2.1) instead of
	// /cgi-bin/stable_token in normal mode (§2.2). False, the default, is
	// the stable token: its quota is far larger and fetching it never
	// retires a token that another service holds.
	Legacy bool
	// RefreshBefore is how long before its expiry a token is fetched
	// again; until the new one is stored, callers keep getting the old one.
	// Zero means DefaultRefreshBefore; negative, or an hour or more (half
	// a token's life), is an error. A stable token fetched more than 5
	// minutes before its end comes back unchanged (reference §2.2): a
	// longer RefreshBefore only spends fetches, one per LockTTL.
	RefreshBefore time.Duration
	// LockTTL bounds how long one fetcher holds the fetch lock, and spaces
	// attempts when a fetch fails or gives a token already within
	// RefreshBefore of its end. It must exceed the Client's Timeout, so
	// that a fetch ends within it. Zero means DefaultLockTTL; negative is
	// an error.
	LockTTL time.Duration
	// WaitTimeout bounds how long a caller with no usable token waits for
	// another process's fetch before failing with [ErrUnavailable]. Zero
	// means DefaultWaitTimeout; negative is an error.
	WaitTimeout time.Duration
	// Now tells whether a token is due for refresh or expired. Nil means
	// time.Now. Waits and polls use real time whatever Now says.
	Now func() time.Time
	// Observe, if not nil, is called with the app ID once per fetch from
	// WeChat, failed or not: the daily quota is counted in those.
	Observe func(appID string)
}

// TokenManager hands out app access tokens so that, across every process
// sharing its [TokenCache], one fetch is in flight per app and a token is
// fetched again only when it nears its end or WeChat refuses it: the
// central token service ("中控服务器") of reference §2.1. It is safe for
// concurrent use.
//
// Within one process, concurrent calls for one app share one look-up of the
// cache and at most one fetch. Across processes, the cache's lock elects
// the one fetcher; the others use the old token while it is valid, or poll
// the cache for the new one.
type TokenManager struct {
	client        *Client
	cache         TokenCache
	secrets       func(string) (string, bool)
	legacy        bool
	refreshBefore time.Duration
	lockTTL       time.Duration
	waitTimeout   time.Duration
	now           func() time.Time
	observe       func(string)

	mu      sync.Mutex
	flights map[string]*flight // by app ID
	running sync.WaitGroup     // one per flight, for tests
}

// flight is one in-process look-up of an app's token, shared by the callers
// that ask while it runs. When it finds a token that is valid but due for
// refresh, it answers early with that token, then fetches its successor.
type flight struct {
	early    chan struct{} // closed when earlyTok is set
	earlyTok AppToken
	done     chan struct{} // closed when tok and err are set
	tok      AppToken
	err      error
}

// NewTokenManager returns a TokenManager for cfg, or an error naming the
// first bad field.
func NewTokenManager(cfg TokenManagerConfig) (*TokenManager, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("wechat: TokenManagerConfig.Client is nil")
	case cfg.Cache == nil:
		return nil, errors.New("wechat: TokenManagerConfig.Cache is nil")
	case cfg.Secrets == nil:
		return nil, errors.New("wechat: TokenManagerConfig.Secrets is nil")
	case cfg.RefreshBefore < 0 || cfg.RefreshBefore >= maxRefreshBefore:
		return nil, fmt.Errorf("wechat: TokenManagerConfig.RefreshBefore %v: must be at least 0 and under %v", cfg.RefreshBefore, maxRefreshBefore)
	case cfg.LockTTL < 0:
		return nil, fmt.Errorf("wechat: TokenManagerConfig.LockTTL %v: must not be negative", cfg.LockTTL)
	case cfg.WaitTimeout < 0:
		return nil, fmt.Errorf("wechat: TokenManagerConfig.WaitTimeout %v: must not be negative", cfg.WaitTimeout)
	case cfg.LockTTL != 0 && cfg.LockTTL <= cfg.Client.timeout,
		cfg.LockTTL == 0 && DefaultLockTTL <= cfg.Client.timeout:
		return nil, fmt.Errorf("wechat: TokenManagerConfig.LockTTL %v: must exceed the client's Timeout %v, which bounds a fetch",
			cmp0(cfg.LockTTL, DefaultLockTTL), cfg.Client.timeout)
	}
	m := &TokenManager{
		client:        cfg.Client,
		cache:         cfg.Cache,
		secrets:       cfg.Secrets,
		legacy:        cfg.Legacy,
		refreshBefore: cmp0(cfg.RefreshBefore, DefaultRefreshBefore),
		lockTTL:       cmp0(cfg.LockTTL, DefaultLockTTL),
		waitTimeout:   cmp0(cfg.WaitTimeout, DefaultWaitTimeout),
		now:           cfg.Now,
		observe:       cfg.Observe,
		flights:       make(map[string]*flight),
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// cmp0 returns d, or def when d is zero.
func cmp0(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Token returns a usable access token of appID: the cached one while it
// has more than RefreshBefore left, else a fresh one, fetched by this
// process or another. A token within RefreshBefore of its end is returned
// at once while its successor is fetched, here or elsewhere; if that fetch
// fails, the old token keeps being returned and the fetch is tried again
// after LockTTL (see [Config.Observe] for the failures).
//
// An app that Secrets does not know is [ErrInvalidRequest]. With no valid
// token, fetch failures are returned, classified like [Client.Token]'s;
// when another process's fetch does not produce a token within
// WaitTimeout, the error is [ErrUnavailable]. Cache failures are returned
// wrapped. A cancelled ctx returns at once; a fetch under way goes on for
// the callers that still wait.
func (m *TokenManager) Token(ctx context.Context, appID string) (AppToken, error) {
	return m.token(ctx, appID, "")
}

// token is Token, avoiding refused (if not empty), a token that WeChat
// refused and that was just dropped from the cache: a look-up that was under
// way before the drop may still answer with it, so token waits for the end
// of that look-up and, if it gave refused all the same, makes one more. A
// token WeChat gives again after the drop is returned.
func (m *TokenManager) token(ctx context.Context, appID, refused string) (AppToken, error) {
	if appID == "" {
		return AppToken{}, fmt.Errorf("%w: app token: empty app ID", ErrInvalidRequest)
	}
	if _, ok := m.secrets(appID); !ok {
		return AppToken{}, fmt.Errorf("%w: app token: unknown app %q", ErrInvalidRequest, appID)
	}
	for attempt := 0; ; attempt++ {
		tok, err := m.await(ctx, m.join(ctx, appID), refused)
		if err != nil || refused == "" || tok.Token != refused || attempt > 0 {
			return tok, err
		}
	}
}

// await returns f's answer: its early one if that is still valid and not
// refused, else its final one.
func (m *TokenManager) await(ctx context.Context, f *flight, refused string) (AppToken, error) {
	select {
	case <-f.early:
		if m.valid(f.earlyTok) && f.earlyTok.Token != refused {
			return f.earlyTok, nil
		}
		// It expired or was refused while its successor was being
		// fetched: wait for that.
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return AppToken{}, fmt.Errorf("wechat: app token: %w", context.Cause(ctx))
	}
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return AppToken{}, fmt.Errorf("wechat: app token: %w", context.Cause(ctx))
	}
}

// join returns appID's flight, starting one if none is under way.
func (m *TokenManager) join(ctx context.Context, appID string) *flight {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.flights[appID]; f != nil {
		return f
	}
	f := &flight{early: make(chan struct{}), done: make(chan struct{})}
	m.flights[appID] = f
	// The flight outlives the caller that started it: the others that
	// joined still want its answer, and a fetch cut short would waste a
	// token. It is bounded by its own waits and timeouts, and this.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.lockTTL+m.waitTimeout)
	m.running.Add(1)
	go func() {
		defer m.running.Done()
		defer cancel()
		tok, err := m.lookUp(fctx, appID, func(tok AppToken) {
			f.earlyTok = tok
			close(f.early)
		})
		m.mu.Lock()
		delete(m.flights, appID)
		m.mu.Unlock()
		f.tok, f.err = tok, err
		close(f.done)
	}()
	return f
}

// fresh reports whether tok needs no refresh yet.
func (m *TokenManager) fresh(tok AppToken) bool { return tok.ExpiresAt.Sub(m.now()) > m.refreshBefore }

// valid reports whether tok has not expired.
func (m *TokenManager) valid(tok AppToken) bool {
	return tok.Token != "" && m.now().Before(tok.ExpiresAt)
}

// lookUp is one flight: the cache, then the lock, a fetch or a wait. It
// calls early, at most once, with a token that is valid but due for
// refresh, before trying to refresh it.
func (m *TokenManager) lookUp(ctx context.Context, appID string, early func(AppToken)) (AppToken, error) {
	cached, found, err := m.cache.AppToken(ctx, appID)
	if err != nil {
		return AppToken{}, fmt.Errorf("wechat: app token of %s: read cache: %w", appID, err)
	}
	if found && m.fresh(cached) {
		return cached, nil
	}
	if found && m.valid(cached) {
		early(cached)
	} else {
		cached = AppToken{}
	}
	timer := time.NewTimer(m.waitTimeout)
	defer timer.Stop()
	for {
		release, locked, err := m.cache.LockAppToken(ctx, appID, m.lockTTL)
		switch {
		case err != nil && cached.Token != "":
			return cached, nil // still valid; the next call tries again
		case err != nil:
			return AppToken{}, fmt.Errorf("wechat: app token of %s: lock cache: %w", appID, err)
		case locked:
			return m.refresh(ctx, appID, release)
		case cached.Token != "":
			return cached, nil // another process is fetching its successor
		}
		// No usable token, and another process is fetching one: wait for
		// it, or for its lock to run out.
		select {
		case <-time.After(pollInterval):
		case <-timer.C:
			return AppToken{}, fmt.Errorf("wechat: app token of %s: %w: no token after waiting %v for another process's fetch",
				appID, ErrUnavailable, m.waitTimeout)
		case <-ctx.Done():
			return AppToken{}, fmt.Errorf("wechat: app token of %s: %w: %w", appID, ErrUnavailable, context.Cause(ctx))
		}
		tok, found, err := m.cache.AppToken(ctx, appID)
		if err != nil {
			return AppToken{}, fmt.Errorf("wechat: app token of %s: read cache: %w", appID, err)
		}
		if found && m.valid(tok) {
			return tok, nil // what the fetcher stored, even if already due
		}
	}
}

// refresh runs while holding appID's fetch lock: look again, fetch, store.
// It releases the lock when the cache ends up with a token not yet due for
// refresh, or with none (so that the next caller may try at once). When
// only a due token remains (the fetch failed, or WeChat's stable token is
// in its last minutes and came back unchanged) it keeps the lock until its
// ttl runs out, so that no process fetches again before then.
func (m *TokenManager) refresh(ctx context.Context, appID string, release func()) (AppToken, error) {
	cached, found, err := m.cache.AppToken(ctx, appID)
	if err != nil {
		release()
		return AppToken{}, fmt.Errorf("wechat: app token of %s: read cache: %w", appID, err)
	}
	if found && m.fresh(cached) {
		release() // stored by the previous holder since we looked
		return cached, nil
	}
	if !found || !m.valid(cached) {
		cached = AppToken{}
	}
	tok, err := m.fetch(ctx, appID)
	if err != nil {
		if cached.Token != "" {
			return cached, nil // absorbed: still valid; retried after LockTTL
		}
		release()
		return AppToken{}, fmt.Errorf("wechat: app token of %s: %w", appID, err)
	}
	if err := m.cache.SetAppToken(ctx, appID, tok); err != nil {
		release()
		return AppToken{}, fmt.Errorf("wechat: app token of %s: store in cache: %w", appID, err)
	}
	if m.fresh(tok) {
		release()
	}
	return tok, nil
}

// fetch asks WeChat for a token.
func (m *TokenManager) fetch(ctx context.Context, appID string) (AppToken, error) {
	secret, ok := m.secrets(appID)
	if !ok {
		return AppToken{}, fmt.Errorf("%w: unknown app", ErrInvalidRequest)
	}
	if m.observe != nil {
		m.observe(appID)
	}
	if m.legacy {
		return m.client.Token(ctx, appID, secret)
	}
	return m.client.StableToken(ctx, appID, secret, false)
}

// Invalidate reports that WeChat refused token (errcode 40001 or 42001,
// [ErrTokenInvalid]) so that the next [TokenManager.Token] fetches a new
// one. The token is dropped only if it is still appID's current one: a
// refusal reported late never drops its successor (reference §2.3).
func (m *TokenManager) Invalidate(ctx context.Context, appID, token string) error {
	if appID == "" || token == "" {
		return fmt.Errorf("%w: invalidate app token: empty app ID or token", ErrInvalidRequest)
	}
	if _, err := m.cache.DropAppToken(ctx, appID, token); err != nil {
		return fmt.Errorf("wechat: invalidate app token of %s: %w", appID, err)
	}
	return nil
}

// Do calls call with a token of appID. If call's error matches
// [ErrTokenInvalid] (40001, 42001 from a WeChat API that takes the
// token), Do invalidates that token and calls call once more with a fresh
// one, as reference §2.3 says; it returns call's last error as is.
func (m *TokenManager) Do(ctx context.Context, appID string, call func(token string) error) error {
	tok, err := m.Token(ctx, appID)
	if err != nil {
		return err
	}
	err = call(tok.Token)
	if !errors.Is(err, ErrTokenInvalid) {
		return err
	}
	if ierr := m.Invalidate(ctx, appID, tok.Token); ierr != nil {
		return errors.Join(err, ierr)
	}
	if tok, err = m.token(ctx, appID, tok.Token); err != nil {
		return err
	}
	return call(tok.Token)
}

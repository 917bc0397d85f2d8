// Package instance assembles one running wxauth from a configuration: it
// opens the stores the configuration names, loads the signing key, and wires
// the WeChat client, token service, login service, metrics and HTTP API
// together. cmd/wxauth and the end-to-end tests (internal/servertest) build
// the server the same way through it, so the tests run what users run.
package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/account"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/keyring"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/metrics"
	"github.com/wxauth/wxauth/internal/oidc"
	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/redirect"
	"github.com/wxauth/wxauth/internal/revocation"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/server"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/sms"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/internal/storage/redisstore"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/internal/tracing"
	"github.com/wxauth/wxauth/internal/wakeup"
	"github.com/wxauth/wxauth/internal/wechatstatus"
	"github.com/wxauth/wxauth/wechat"
)

// Options are what a configuration file does not say.
type Options struct {
	// KeyFile, if set, is where the signing key is kept (created on first
	// start): `wxauth dev`. Empty: the keys live in the database, shared by
	// every instance and reloaded on a timer (keyring).
	KeyFile string
	// Migrate runs the database migrations at start.
	Migrate bool
	// DatabaseMode marks the database as production's (`wxauth serve`) or
	// refuses one so marked (`wxauth dev`); zero does neither.
	DatabaseMode sqlstore.Mode
	// Mount adds handlers beside the API (the sandbox under /sandbox/ in
	// `wxauth dev`), by pattern.
	Mount map[string]http.Handler
	// MetricsOnAPI serves GET /metrics beside the API (`wxauth dev`, the
	// e2e tests). Otherwise the caller serves Instance.Metrics.Handler()
	// elsewhere, or not at all (`wxauth serve`: metrics_addr).
	MetricsOnAPI bool
	// HTTPClient for calls to WeChat; nil: the wechat package's default.
	HTTPClient *http.Client
	// Tracing, if not nil, traces requests, WeChat calls, PostgreSQL
	// queries and Redis commands (docs/operations.md "Tracing"); nil is
	// off, and nothing is wrapped.
	Tracing *tracing.Tracer
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// After times the QR login's waits (long poll, re-reads, expiry);
	// nil means time.After. Tests pass their clock's.
	After func(time.Duration) <-chan time.Time
	// SMS sends the codes of the bind flow; nil: the sender sms.provider
	// names (none or dev: the development sender, which hands them to
	// DeliverSMS, the sandbox's inbox, and never logs them).
	SMS        sms.Sender
	DeliverSMS func(phone, code, purpose string)
	// OnFollowScan is told of each follow-to-login scan WeChat pushes
	// (server.Config.OnFollowScan); nil: the login service completes the
	// ticket (login.Service.FollowScanned). Tests replace it to watch.
	OnFollowScan server.FollowScanHook
}

// sessionStore is what the session store must do: sessions, one-time items,
// rate-limit counters and the shared app access tokens (memstore in
// process, redisstore shared).
type sessionStore interface {
	storage.Sessions
	storage.OneTime
	storage.Limiter
	storage.Revocations
	storage.Signals
	wechat.TokenCache
}

// Instance is one wxauth: its handler and what must be closed with it.
type Instance struct {
	Handler  http.Handler
	Users    storage.Users
	Sessions sessionStore
	Tokens   *token.Service
	Metrics  *metrics.Metrics
	// JWKS is the public key set being served.
	JWKS func() []byte
	// OIDC is the OpenID Provider; nil without oidc.clients.
	OIDC *oidc.Provider
	// Account deletes, exports, disables and enables accounts (the user
	// endpoints and the admin surface).
	Account *account.Service
	// Login logs people in (tests reach its flows directly).
	Login *login.Service
	// Wake is the instance's one signal subscription and the QR login
	// browsers waiting on it (benchmarks ask how many wait).
	Wake *wakeup.Hub
	// API is the HTTP API inside Handler; `wxauth serve` drains it and
	// ends its revocation streams when it stops.
	API *server.Server
	// Audit writes the audit trail to the database; nil when audit.enabled
	// is false. Close flushes it (after the last request, before the
	// database closes).
	Audit   *audit.Writer
	closers []func() error
}

// New builds an instance from a validated configuration. Background work
// (reloading shared keys) runs until Close.
func New(ctx context.Context, cfg *config.Config, opt Options) (_ *Instance, err error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	inst := &Instance{Metrics: metrics.New()}
	defer func() {
		if err != nil {
			inst.Close()
		}
	}()

	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, Logger: opt.Logger, Migrate: opt.Migrate, Mode: opt.DatabaseMode,
		Trace: opt.Tracing.SQL()})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	inst.closers = append(inst.closers, db.Close)
	inst.Users = db

	recorder := audit.Discard
	var auditLog storage.AuditLog // read by the account export
	if cfg.Audit.On() {
		auditLog = db
		w, err := audit.New(audit.Config{Log: db, Retention: cfg.Audit.Retention.D(), Now: opt.Now, Logger: opt.Logger,
			Recorded: func(t audit.Type) { inst.Metrics.AuditEvents.WithLabelValues(string(t)).Inc() },
			Dropped:  func(reason string, n int) { inst.Metrics.AuditDropped.WithLabelValues(reason).Add(float64(n)) },
		})
		if err != nil {
			return nil, err
		}
		inst.Audit, recorder = w, w
		// Every drop reason exported from the start at 0, so that a
		// rate() over it (the dashboard's panel) has a series to read.
		for _, reason := range []string{audit.DropQueueFull, audit.DropWriteFailed, audit.DropClosed} {
			inst.Metrics.AuditDropped.WithLabelValues(reason)
		}
		inst.closers = append(inst.closers, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), auditCloseTimeout)
			defer cancel()
			if err := w.Close(ctx); err != nil {
				return fmt.Errorf("audit: events still queued were lost: %w", err)
			}
			return nil
		})
	}

	if cfg.RedisURL != "" {
		rs, err := redisstore.Open(ctx, redisstore.Config{URL: cfg.RedisURL, Logger: opt.Logger, Instrument: opt.Tracing.Redis()})
		if err != nil {
			return nil, fmt.Errorf("open redis: %w", err)
		}
		inst.closers = append(inst.closers, rs.Close)
		inst.Sessions = rs
	} else {
		inst.Sessions = memstore.New()
	}

	box, err := seal.New([]byte(cfg.Secret), nil)
	if err != nil {
		return nil, err
	}
	var keys token.Keys
	if opt.KeyFile != "" {
		key, created, err := signer.LoadOrCreateFile(opt.KeyFile, nil, opt.Now())
		if err != nil {
			return nil, err
		}
		if created {
			opt.Logger.Info("generated a signing key", "kid", key.ID, "file", opt.KeyFile)
		}
		set, err := signer.NewSet(key)
		if err != nil {
			return nil, err
		}
		keys, inst.JWKS = set, set.JWKS
	} else {
		ring, err := keyring.Open(ctx, keyring.Config{Store: db, Seal: box, AccessTTL: cfg.Tokens.AccessTTL.D(),
			Reload: cfg.KeyReload.D(), Now: opt.Now, Logger: opt.Logger})
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); ring.Run(rctx) }()
		inst.closers = append(inst.closers, func() error { cancel(); <-done; return nil })
		keys, inst.JWKS = ring, ring.JWKS
	}

	inst.Tokens, err = token.New(token.Config{
		Issuer:        cfg.Issuer,
		Audience:      cfg.Audience,
		AccessTTL:     cfg.Tokens.AccessTTL.D(),
		RefreshTTL:    cfg.Tokens.RefreshTTL.D(),
		SessionMaxAge: cfg.Tokens.SessionMaxAge.D(),
		ReuseGrace:    graceOrNone(cfg.Tokens.ReuseGrace.D()),
		Keys:          keys,
		Sessions:      inst.Sessions,
		Revocations:   inst.Sessions,
		Secret:        []byte(cfg.Secret),
		Now:           opt.Now,
	})
	if err != nil {
		return nil, err
	}
	appNames := make(map[string]string, len(cfg.Apps))
	for _, a := range cfg.Apps {
		appNames[a.AppID] = a.Name
	}
	wstatus := wechatstatus.New(appNames, opt.Now, opt.Logger)
	wc, err := wechat.New(wechat.Config{
		APIBases:      cfg.WeChat.APIBases(),
		OpenBase:      cfg.WeChat.OpenBase,
		MPBase:        cfg.WeChat.MPBase,
		HTTPClient:    opt.HTTPClient,
		Timeout:       cfg.WeChat.Timeout.D(),
		WrapTransport: wrapTransport(opt.Tracing),
		Observe: func(c wechat.Call) {
			inst.Metrics.ObserveWeChat(c)
			wstatus.Observe(c)
		},
	})
	if err != nil {
		return nil, err
	}
	secrets := make(map[string]string, len(cfg.Apps))
	for _, a := range cfg.Apps {
		secrets[a.AppID] = a.Secret
	}
	appTokens, err := wechat.NewTokenManager(wechat.TokenManagerConfig{
		Client: wc,
		Cache:  inst.Sessions,
		Secrets: func(appID string) (string, bool) {
			s, ok := secrets[appID]
			return s, ok
		},
		Now:     opt.Now,
		Observe: func(appID string) { inst.Metrics.AppTokenFetches.WithLabelValues(appID).Inc() },
	})
	if err != nil {
		return nil, err
	}
	rules := cfg.RateLimits.Rules()
	rules.SMSDailyBudget = cfg.SMS.Budget()
	limits := ratelimit.NewPolicy(rules, inst.Sessions, inst.Sessions, opt.Now)
	apps := make([]login.App, len(cfg.Apps))
	for i, a := range cfg.Apps {
		apps[i] = login.App{Name: a.Name, Kind: login.Kind(a.Kind), AppID: a.AppID, Secret: a.Secret, Domains: a.Domains,
			QRPage: a.QRLoginPage, QREnvVersion: a.QRLoginEnvVersion,
			PushToken: a.PushToken, PushAESKey: a.PushAESKey}
	}
	// One signal subscription per instance wakes its QR login browsers.
	wake := wakeup.New(inst.Sessions, opt.After, opt.Logger)
	inst.Wake = wake
	wctx, wcancel := context.WithCancel(context.Background())
	wdone := make(chan struct{})
	go func() { defer close(wdone); wake.Run(wctx) }()
	inst.closers = append(inst.closers, func() error { wcancel(); <-wdone; return nil })
	select {
	case <-wake.Ready():
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(5 * time.Second):
		opt.Logger.Warn("the QR login signal subscription is not up yet; browsers notice steps on their slow re-read until it is")
	}
	sender := opt.SMS
	if sender == nil {
		sender = newSender(cfg, opt)
	}
	// OpenID Provider (docs/oidc.md), when clients are configured; its
	// WeChat logins return to the issuer's /oauth2/callback.
	redirects := cfg.Redirects
	var op *oidc.Provider
	if len(cfg.OIDC.Clients) > 0 {
		redirects = append(slices.Clone(redirects), cfg.Issuer+oidc.PathCallback)
		clients, err := oidc.NewClients(cfg.OIDCClients())
		if err != nil {
			return nil, err
		}
		op, err = oidc.New(oidc.Config{Issuer: cfg.Issuer, Clients: clients, Tokens: inst.Tokens, Keys: keys,
			Sessions: inst.Sessions, Users: inst.Users, OneTime: inst.Sessions, Seal: box, Secret: []byte(cfg.Secret),
			NewSession: limits.NewSession, Now: opt.Now, Logger: opt.Logger, Audit: recorder})
		if err != nil {
			return nil, err
		}
		inst.OIDC = op
	}
	inst.Login, err = login.New(login.Config{
		Apps: apps, BindPhone: cfg.Registration == config.RegistrationBindPhone,
		WeChat: wc, AppTokens: appTokens, Users: inst.Users, Sessions: inst.Sessions, OneTime: inst.Sessions,
		Tokens: inst.Tokens, Seal: box, Secret: []byte(cfg.Secret), SMS: sender,
		SMSCountries: cfg.SMS.Countries, OnSMSBudgetSpent: inst.Metrics.SMSBudgetExhausted.Inc,
		Redirects: redirect.New(redirects), Limits: limits, Now: opt.Now, Logger: opt.Logger,
		QRTTL: cfg.QRLogin.TTL.D(), Wake: wake, QRAfter: opt.After, Audit: recorder,
	})
	if err != nil {
		return nil, err
	}
	hub := revocation.New(inst.Sessions, opt.Now, opt.Logger)
	hctx, hcancel := context.WithCancel(context.Background())
	hdone := make(chan struct{})
	go func() { defer close(hdone); hub.Run(hctx) }()
	inst.closers = append(inst.closers, func() error { hcancel(); <-hdone; return nil })
	followScan := opt.OnFollowScan
	if followScan == nil {
		followScan = inst.Login.FollowScanned
	}
	admin, ok := inst.Users.(account.Users)
	if !ok {
		return nil, errors.New("instance: the user store cannot delete users (storage.UserAdmin)")
	}
	inst.Account, err = account.New(account.Config{Users: admin, Sessions: inst.Sessions, Tokens: inst.Tokens,
		Recorder: recorder, AuditLog: auditLog, Now: opt.Now,
		Apps: func(appID string) (string, bool) {
			a, ok := inst.Login.Apps().ByAppID(appID)
			return a.Name, ok
		}})
	if err != nil {
		return nil, err
	}
	api, err := server.New(server.Config{
		Account: inst.Account, DeleteRecentLogin: cfg.Account.DeleteRecentLogin.D(),
		Revocations: hub, AppTokens: appTokens, CORSOrigins: cfg.CORSOrigins, TokenHeader: cfg.TokenHeader,
		SecureCookies: strings.HasPrefix(cfg.Issuer, "https://"),
		Login:         inst.Login, Tokens: inst.Tokens, Users: inst.Users, Sessions: inst.Sessions,
		JWKS: inst.JWKS, Metrics: inst.Metrics, Logger: opt.Logger, Now: opt.Now,
		ServiceKeys: serviceKeys(cfg.ServiceKeys), Limits: limits, TrustedProxyHeader: cfg.TrustedProxyHeader,
		WeChatProblems: wstatus.Problems, OnFollowScan: followScan, OIDC: op,
		Audit: recorder, AuditLog: db,
	})
	if err != nil {
		return nil, err
	}
	inst.API = api
	if len(opt.Mount) == 0 && !opt.MetricsOnAPI {
		inst.Handler = opt.Tracing.Handler(api)
		return inst, nil
	}
	mux := http.NewServeMux()
	if opt.MetricsOnAPI {
		mux.Handle("GET /metrics", inst.Metrics.Handler())
	}
	for pattern, h := range opt.Mount {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", api)
	inst.Handler = opt.Tracing.Handler(mux)
	return inst, nil
}

// wrapTransport is the WeChat client's transport wrapper: nil when
// tracing is off, so the client stays as it is.
func wrapTransport(t *tracing.Tracer) func(http.RoundTripper) http.RoundTripper {
	if t == nil {
		return nil
	}
	return t.Transport
}

// auditCloseTimeout bounds the flush of the audit queue at Close: a
// database that does not answer must not hold a stopping process.
const auditCloseTimeout = 5 * time.Second

// graceOrNone maps a configured 0 ("no grace") to the token package's
// negative value; the token package reads 0 as "default".
func graceOrNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// Close releases the stores.
func (i *Instance) Close() error {
	var errs []error
	for j := len(i.closers) - 1; j >= 0; j-- {
		errs = append(errs, i.closers[j]())
	}
	i.closers = nil
	return errors.Join(errs...)
}

// serviceKeys are the configured service keys for the server.
func serviceKeys(keys []config.ServiceKey) []server.ServiceKey {
	out := make([]server.ServiceKey, len(keys))
	for i, k := range keys {
		out[i] = server.ServiceKey{Name: k.Name, Secret: k.Secret, Scopes: k.Scopes}
	}
	return out
}

// newSender is the SMS sender sms.provider names (docs/bind.md "SMS
// providers"); Validate has checked its keys.
func newSender(cfg *config.Config, opt Options) sms.Sender {
	s := cfg.SMS
	switch s.Provider {
	case config.SMSTencent:
		return &sms.Tencent{SecretID: s.SecretID, SecretKey: s.SecretKey, AppID: s.AppID, TemplateID: s.Template,
			SignName: s.SignName, Region: s.Region, Now: opt.Now}
	case config.SMSAliyun:
		return &sms.Aliyun{AccessKeyID: s.AccessKeyID, AccessKeySecret: s.AccessKeySecret, TemplateCode: s.Template,
			SignName: s.SignName, Region: s.Region, Now: opt.Now}
	case config.SMSWebhook:
		return &sms.Webhook{URL: s.WebhookURL, Secret: s.WebhookSecret, Template: s.Template, Now: opt.Now}
	default: // "" and dev
		return sms.DevSender{Logger: opt.Logger, Deliver: opt.DeliverSMS}
	}
}

package server

import (
	"errors"
	"fmt"
	"github.com/wxauth/wxauth/internal/account"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/admin"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/metrics"
	"github.com/wxauth/wxauth/internal/oidc"
	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/revocation"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/internal/tokenheader"
	"github.com/wxauth/wxauth/internal/wechatstatus"
)

// Config wires a server. Login, Tokens, Users, Sessions, JWKS and AppTokens
// are required.
type Config struct {
	Login    *login.Service
	Tokens   *token.Service
	Users    storage.Users
	Sessions storage.Sessions
	// JWKS returns the current public JWKS document.
	JWKS func() []byte
	// Metrics the API counts into; nil makes a private set. They are not
	// served here: /metrics is the caller's to serve (on its own listener
	// in `wxauth serve`, beside the API in `wxauth dev`).
	Metrics *metrics.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ServiceKeys are the bearer keys of other services, each allowed the
	// endpoints of its scopes (introspection, the revocation stream, the
	// app access token). None: those endpoints answer 401 to everyone.
	ServiceKeys []ServiceKey
	// StreamWriteTimeout bounds each write of the revocation stream: a
	// subscriber that does not read for this long is dropped. Zero: 10s.
	StreamWriteTimeout time.Duration
	// Limits says which limits apply to which request; nil: none.
	Limits *ratelimit.Policy
	// TrustedProxyHeader names the header that carries the client address
	// behind a load balancer; empty: the connection's address.
	TrustedProxyHeader string
	// AppTokens serves /v1/wechat/access_token.
	AppTokens AppTokens
	// Revocations feeds GET /v1/revocations; nil: not served.
	Revocations *revocation.Hub
	// CORSOrigins may call the API from a browser (cors_origins).
	CORSOrigins []string
	// TokenHeader, if not empty, names a header (token_header, such as
	// X-Wx-Ticket) from which the authenticated endpoints read the raw
	// access token, besides Authorization: Bearer (internal/tokenheader);
	// CORS allows it. Empty: Authorization: Bearer only.
	TokenHeader string
	// SecureCookies marks cookies Secure (an https issuer).
	SecureCookies bool
	// WeChatProblems, if not nil, gives WeChat's current refusals that an
	// operator must act on, shown by /readyz (docs/deploy.md).
	WeChatProblems func() []wechatstatus.Problem
	// OnFollowScan is told of each scan of a follow-to-login QR code
	// pushed by WeChat (push.go); nil: scans are logged and dropped.
	OnFollowScan FollowScanHook
	// FollowScanTimeout bounds OnFollowScan; zero: 4s.
	FollowScanTimeout time.Duration
	// OIDC is the OpenID Provider (docs/oidc.md); nil: its endpoints
	// answer 404.
	OIDC *oidc.Provider
	// Audit records the security events of the API's own handlers
	// (refresh reuse, logouts) and the admin API's actions
	// (internal/admin); AuditLog answers GET /v1/admin/audit. Nil: nothing
	// recorded, and that endpoint answers an empty list.
	Audit    audit.Recorder
	AuditLog storage.AuditLog
	// Account serves DELETE /v1/me and GET /v1/me/export; required.
	Account *account.Service
	// DeleteRecentLogin: DELETE /v1/me needs a session opened less than
	// this ago (account.delete_recent_login); zero: 10m.
	DeleteRecentLogin time.Duration
}

// Server is wxauth's HTTP API.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	handler http.Handler
	log     *slog.Logger
	m       *metrics.Metrics
	audit   audit.Recorder

	serviceKeys serviceKeys
	admin       *admin.Service
	// streams counts the open revocation streams per service key.
	streamsMu   sync.Mutex
	streams     map[string]int
	routeTable  routeTable
	openAPIJSON []byte
	// draining is set once the process is stopping (Drain); ending is
	// closed when revocation streams must end (EndStreams).
	draining  atomic.Bool
	endOnce   sync.Once
	endStream chan struct{}
}

// New checks cfg and returns the API as an http.Handler.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Login == nil:
		return nil, errors.New("server: Config.Login is required")
	case cfg.Tokens == nil:
		return nil, errors.New("server: Config.Tokens is required")
	case cfg.Users == nil:
		return nil, errors.New("server: Config.Users is required")
	case cfg.Sessions == nil:
		return nil, errors.New("server: Config.Sessions is required")
	case cfg.Account == nil:
		return nil, errors.New("server: Config.Account is required")
	case cfg.JWKS == nil:
		return nil, errors.New("server: Config.JWKS is required")
	case cfg.AppTokens == nil:
		return nil, errors.New("server: Config.AppTokens is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.DeleteRecentLogin == 0 {
		cfg.DeleteRecentLogin = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger, m: cfg.Metrics, audit: audit.Or(cfg.Audit),
		serviceKeys: newServiceKeys(cfg.ServiceKeys), streams: map[string]int{}, endStream: make(chan struct{})}
	if s.cfg.StreamWriteTimeout == 0 {
		s.cfg.StreamWriteTimeout = 10 * time.Second
	}
	if s.cfg.FollowScanTimeout == 0 {
		s.cfg.FollowScanTimeout = DefaultFollowScanTimeout
	}
	var err error
	users, ok := cfg.Users.(admin.Users)
	if !ok {
		return nil, errors.New("server: Config.Users must implement storage.UserAdmin (the admin API)")
	}
	if s.admin, err = admin.New(admin.Config{Users: users, Sessions: cfg.Sessions, Tokens: cfg.Tokens, Accounts: cfg.Account,
		Audit: cfg.Audit, Now: cfg.Now}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.openAPIJSON, err = openAPIJSON(api.OpenAPI); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.routes()
	if err := tokenheader.Check(cfg.TokenHeader); err != nil {
		return nil, fmt.Errorf("server: Config.TokenHeader: %w", err)
	}
	s.handler = newCORS(cfg.CORSOrigins, cfg.TokenHeader).wrap(s.mux)
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

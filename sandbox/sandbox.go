package sandbox

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Path prefixes under which the sandbox serves, the same whether it is
// mounted inside `wxauth dev` or runs alone (docs/sandbox.md).
const (
	// APIPrefix stands for https://api.weixin.qq.com.
	APIPrefix = "/sandbox/api"
	// OpenPrefix stands for https://open.weixin.qq.com.
	OpenPrefix = "/sandbox/open"
	// ControlPrefix is the sandbox's own control API.
	ControlPrefix = "/sandbox/v1"
)

// App kinds, as WeChat distinguishes them (reference §3, §5, §6, §6.1).
const (
	KindMiniProgram     = "miniprogram"
	KindOfficialAccount = "official_account"
	KindWebsite         = "website"
	KindMobileApp       = "mobile_app"
)

// DefaultCodeTTL is how long a wx.login code or a phone code stays valid
// (reference §3.1, §3.5).
const DefaultCodeTTL = 5 * time.Minute

// App access token defaults (reference §2.1, §2.2).
const (
	// DefaultAppTokenTTL is the lifetime of an app access token: WeChat
	// answers expires_in 7200.
	DefaultAppTokenTTL = 7200 * time.Second
	// DefaultAppTokenOverlap is how long a superseded /cgi-bin/token token
	// keeps working, and how early before expiry /cgi-bin/stable_token
	// hands over to its next token.
	DefaultAppTokenOverlap = 5 * time.Minute
	// DefaultAppTokenDailyQuota is how many /cgi-bin/token calls one app
	// may make per day before WeChat answers 45009.
	DefaultAppTokenDailyQuota = 2000
)

// Errors returned by the sandbox's methods; the control API maps them to 404
// and 409. Other errors are invalid input (400).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// App is one WeChat application registered with the sandbox.
type App struct {
	// Name labels the app in the control API and logs; empty means AppID.
	Name string
	// Kind is KindMiniProgram, KindOfficialAccount, KindWebsite or
	// KindMobileApp.
	Kind string
	// AppID is WeChat's application id (real ones look like "wx" and 16
	// hex digits; the sandbox accepts any printable ASCII without spaces).
	AppID string
	// Secret is the AppSecret. It is never shown by the control API.
	Secret string
	// Unbound means the app is not bound to the Open Platform account, so
	// WeChat answers no unionid for it (reference §4). False means bound.
	Unbound bool
	// SessionKey says when a Mini Program user's session_key is replaced
	// (reference §3.9). Nil means [Config].SessionKey.
	SessionKey *SessionKeyPolicy
	// IPWhitelist, when not empty, is the app's API IP whitelist: IP
	// addresses or CIDR prefixes. The endpoints WeChat guards for the
	// app's kind then answer 40164 to any other caller (reference §1.1;
	// docs/sandbox.md). Nil means no whitelist. Website apps take none.
	IPWhitelist []string
	// Domains are the hosts registered on WeChat's side for the app's
	// pages: an Official Account's web authorization domain, a website
	// app's callback domain (reference §5.1, §6). Each is a host name
	// matched exactly (no subdomain, no parent domain); a redirect_uri
	// must be on one of them, on the default port, or the authorize page
	// shows error 10003. Empty means none is registered: every
	// redirect_uri is refused (but see [Config.DevOrigins]).
	Domains []string
	// Pages are a mini program's published pages ("pages/index/index"):
	// a mini program code asked with check_path true must open one of
	// them (41030 otherwise). Empty: any page is taken as published.
	Pages []string
	// PushURL, PushToken and PushAESKey are an Official Account's server
	// configuration (服务器配置, push.go): where WeChat pushes its events,
	// the token that signs them (3–32 letters and digits), and the
	// EncodingAESKey (43 characters) that, when set, makes every push
	// safe mode (encrypted). Empty PushURL: nothing is pushed.
	PushURL    string
	PushToken  string
	PushAESKey string
}

// Config configures a [Sandbox]. The zero value is a sandbox with no apps.
type Config struct {
	// Apps are registered at start; more can be added with [Sandbox.AddApp]
	// or POST /sandbox/v1/apps. Nil means none.
	Apps []App
	// SessionKey says when a Mini Program user's session_key is replaced,
	// for apps that do not say otherwise: on each code issued, and after
	// 72 hours without use, if zero (reference §3.1, §3.9).
	SessionKey SessionKeyPolicy
	// CodeTTL is how long issued wx.login and phone codes stay valid. Zero
	// means [DefaultCodeTTL].
	CodeTTL time.Duration
	// AppTokenTTL is the lifetime of app access tokens (reference §2.1:
	// expires_in 7200). Zero means [DefaultAppTokenTTL]. It must be longer
	// than AppTokenOverlap.
	AppTokenTTL time.Duration
	// AppTokenOverlap is how long a /cgi-bin/token token keeps working
	// after a newer one is issued, and how long before expiry
	// /cgi-bin/stable_token starts handing out the next token (reference
	// §2.1, §2.2: 5 minutes). Zero means [DefaultAppTokenOverlap].
	AppTokenOverlap time.Duration
	// AppTokenDailyQuota is how many successful /cgi-bin/token calls an app
	// may make per day (midnight to midnight, China Standard Time) before
	// WeChat answers 45009 (reference §2.1). Zero means
	// [DefaultAppTokenDailyQuota].
	AppTokenDailyQuota int
	// Now is the clock for code expiry and rate limits. Nil means time.Now.
	// Injected delays always use real time.
	Now func() time.Time
	// Rand is the source of codes, session keys and rids. Nil means
	// crypto/rand. It is only read under the sandbox's lock.
	Rand io.Reader
	// OfficialAccountDenyStays makes Deny on the Official Account page keep
	// the user there, as Deny on the website QR page always does (reference
	// §6) and as WeChat staff describe the Official Account page today ("a
	// cancel cannot be observed"). False, the default, sends the browser to
	// redirect_uri?state=… without code, as older documents say
	// (reference §5.2, unverified either way, hence the switch).
	OfficialAccountDenyStays bool
	// DevOrigins are origins such as "http://127.0.0.1:8080" whose pages
	// every Official Account and website app may return to, port included:
	// an allowance WeChat has no equivalent of (it allows registered
	// domains on the default port only), for `wxauth dev` and tests that
	// serve the pages from a loopback port. Scheme, host and port must
	// match exactly. Nil means none: only [App.Domains].
	DevOrigins []string
	// PushTimeout is how long a push waits for the account's server to
	// answer before WeChat drops it and tries again (three more times at
	// most). Zero means [DefaultPushTimeout], WeChat's five seconds; tests
	// of a slow server set less. It is real time, as injected delays are.
	PushTimeout time.Duration
	// Logger receives one debug line per WeChat call and notes on faults.
	// It never sees secrets, codes or session keys. Nil discards.
	Logger *slog.Logger
}

// Sandbox is an in-memory imitation of WeChat's servers plus a control API.
// It is an [http.Handler]; all its methods are safe for concurrent use.
type Sandbox struct {
	mux          *http.ServeMux
	keyPolicy    SessionKeyPolicy
	devOrigins   []string // Config.DevOrigins, lower case
	oaDenyStays  bool     // Config.OfficialAccountDenyStays
	codeTTL      time.Duration
	tokenTTL     time.Duration
	tokenOverlap time.Duration
	tokenQuota   int
	now          func() time.Time
	log          *slog.Logger
	controlPaths map[string]bool // control API paths, for 405 vs 404

	mu          sync.Mutex
	rand        io.Reader
	apps        map[string]*App // by appid
	appOrder    []string
	users       map[string]*user // by name
	userOrder   []string
	codes       map[string]*loginCode
	phoneCodes  map[string]*phoneCode
	lastSweep   time.Time
	sessionKeys map[appUser]*sessionKey
	rate        map[appUser][]time.Time
	faults      map[string][]*Fault // by WeChat path, oldest first
	calls       map[string]int      // by WeChat path
	appTokens   appTokens
	oauth       oauthState
	sms         smsInbox
	follows     map[appUser]follow // Official Account followers, when not the default
	wxaCodes    wxaCodes           // the mini program codes drawn (wxacode.go)
	started     time.Time          // when the default followers followed
	qrcodes     map[string]*qrCode // parametric QR codes by ticket
	qrSweep     time.Time
	pushTimeout time.Duration
	pushClient  *http.Client
}

// appUser keys per-app, per-user state.
type appUser struct{ appID, user string }

// builtinUsers exist from the start (docs/sandbox.md). snapshot will arrive
// as WeChat's snapshot-page virtual user (reference §4, §5.1); xiaoming
// has a nickname as WeChat users have them: Chinese, with an emoji.
var builtinUsers = []struct{ name, nickname, phone, snapshot string }{
	{"alice", "Alice", "+8613800000001", ""},
	{"bob", "Bob", "+8613800000002", ""},
	{SnapshotUser, "Snapshot", "+8613800000003", SnapshotFlagged},
	{"xiaoming", "小明🐱", "+8613800000004", ""},
}

// New returns a sandbox serving cfg's apps and the built-in test users
// alice, bob, snapshot and xiaoming. It reports the first invalid field of cfg.
func New(cfg Config) (*Sandbox, error) {
	switch {
	case cfg.CodeTTL < 0:
		return nil, fmt.Errorf("sandbox: CodeTTL is negative (%v)", cfg.CodeTTL)
	case cfg.AppTokenTTL < 0:
		return nil, fmt.Errorf("sandbox: AppTokenTTL is negative (%v)", cfg.AppTokenTTL)
	case cfg.AppTokenOverlap < 0:
		return nil, fmt.Errorf("sandbox: AppTokenOverlap is negative (%v)", cfg.AppTokenOverlap)
	case cfg.AppTokenDailyQuota < 0:
		return nil, fmt.Errorf("sandbox: AppTokenDailyQuota is negative (%d)", cfg.AppTokenDailyQuota)
	case cfg.PushTimeout < 0:
		return nil, fmt.Errorf("sandbox: PushTimeout is negative (%v)", cfg.PushTimeout)
	}
	if err := cfg.SessionKey.validate(); err != nil {
		return nil, fmt.Errorf("sandbox: SessionKey: %w", err)
	}
	s := &Sandbox{
		mux:          http.NewServeMux(),
		keyPolicy:    cfg.SessionKey,
		codeTTL:      cmp.Or(cfg.CodeTTL, DefaultCodeTTL),
		tokenTTL:     cmp.Or(cfg.AppTokenTTL, DefaultAppTokenTTL),
		tokenOverlap: cmp.Or(cfg.AppTokenOverlap, DefaultAppTokenOverlap),
		tokenQuota:   cmp.Or(cfg.AppTokenDailyQuota, DefaultAppTokenDailyQuota),
		now:          cfg.Now,
		log:          cfg.Logger,
		controlPaths: make(map[string]bool),
		rand:         cfg.Rand,
		apps:         make(map[string]*App),
		users:        make(map[string]*user),
		codes:        make(map[string]*loginCode),
		phoneCodes:   make(map[string]*phoneCode),
		sessionKeys:  make(map[appUser]*sessionKey),
		rate:         make(map[appUser][]time.Time),
		faults:       make(map[string][]*Fault),
		calls:        make(map[string]int),
		appTokens:    newAppTokens(),
		oauth:        newOAuthState(),
		sms:          newSMSInbox(),
		follows:      make(map[appUser]follow),
		qrcodes:      make(map[string]*qrCode),
		pushTimeout:  cmp.Or(cfg.PushTimeout, DefaultPushTimeout),
		// Pushes never follow redirects: WeChat posts to the URL as set.
		pushClient: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	s.oaDenyStays = cfg.OfficialAccountDenyStays
	for _, o := range cfg.DevOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("sandbox: DevOrigins: %q is not an origin such as http://127.0.0.1:8080", o)
		}
		s.devOrigins = append(s.devOrigins, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	if s.tokenOverlap >= s.tokenTTL {
		return nil, fmt.Errorf("sandbox: AppTokenOverlap (%v) is not shorter than AppTokenTTL (%v)", s.tokenOverlap, s.tokenTTL)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	for i, a := range cfg.Apps {
		if err := s.AddApp(a); err != nil {
			return nil, fmt.Errorf("sandbox: Apps[%d]: %w", i, err)
		}
	}
	for _, u := range builtinUsers {
		s.users[u.name] = &user{name: u.name, nickname: u.nickname, phone: u.phone, snapshot: u.snapshot}
		s.userOrder = append(s.userOrder, u.name)
	}
	s.routes()
	return s, nil
}

// routes registers every path the sandbox serves. WeChat endpoints go
// through handleWeChat with the path as WeChat spells it.
func (s *Sandbox) routes() {
	// WeChat server API (reference §7).
	s.handleWeChat("/cgi-bin/token", s.token, http.MethodGet)
	s.handleWeChat("/cgi-bin/stable_token", s.stableToken, http.MethodPost)
	s.handleWeChat("/sns/jscode2session", s.jscode2session, http.MethodGet)
	s.handleWeChat("/wxa/checksession", s.checkSession, http.MethodGet)
	s.handleWeChat("/wxa/resetusersessionkey", s.resetUserSessionKey, http.MethodGet)
	s.handleWeChat("/wxa/business/getuserphonenumber", s.getUserPhoneNumber, http.MethodPost)
	s.handleWeChat("/sns/oauth2/access_token", s.oauthAccessToken, http.MethodGet)
	s.handleWeChat("/sns/oauth2/refresh_token", s.oauthRefreshToken, http.MethodGet)
	s.handleWeChat("/sns/userinfo", s.userInfo, http.MethodGet)
	s.handleWeChat("/sns/auth", s.snsAuth, http.MethodGet)
	s.handleWeChat("/cgi-bin/user/info", s.userInfoFollower, http.MethodGet)
	s.handleWeChat("/wxa/getwxacodeunlimit", s.getWxaCodeUnlimit, http.MethodPost)
	s.handleWeChat(pathQRCodeCreate, s.qrcodeCreate, http.MethodPost)
	s.calls[pathShowQRCode] = 0
	s.mux.HandleFunc("GET "+MPPrefix+pathShowQRCode, s.showQRCode)

	// WeChat's browser pages (reference §5.1, §6; docs/sandbox.md).
	s.handlePage(pathAuthorize, KindOfficialAccount)
	s.handlePage(pathQRConnect, KindWebsite)

	// Control API (docs/sandbox.md).
	s.handleControl("GET /apps", s.listApps)
	s.handleControl("POST /apps", s.createApp)
	s.handleControl("GET /users", s.listUsers)
	s.handleControl("POST /users", s.createUser)
	s.handleControl("POST /miniprogram/code", codeControl(s.IssueCode))
	s.handleControl("POST /miniprogram/phonecode", s.createPhoneCode)
	s.handleControl("POST /miniprogram/encrypted", s.createEncrypted)
	s.handleControl("POST /miniprogram/rotate", s.rotateSessionKey)
	s.handleControl("POST /apptoken/invalidate", s.invalidateAppTokens)
	s.handleControl("POST /faults", s.createFault)
	s.handleControl("GET /stats", s.stats)
	s.handleControl("GET /sms", s.listSMS)
	s.handleControl("POST /officialaccount/push", s.setPushControl)
	s.handleControl("POST /officialaccount/scan", s.scan)
	s.handleControl("POST /officialaccount/event", s.pushEventControl)
	s.handleControl("POST /followers", s.setFollower)
	s.handleControl("POST /app/code", codeControl(s.IssueAppCode))
	s.handleControl("GET /browser/user", s.browserUserPage)
	s.handleControl("POST /browser/user", s.browserUserSet)
	s.handleControl("POST /miniprogram/scan", s.scanWxaCode)
	s.mux.HandleFunc(ControlPrefix+"/", s.controlNotFound)
}

// ServeHTTP serves the WeChat API, the browser pages and the control API.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// AddApp registers one more app. Registering an appid twice fails with
// [ErrConflict].
func (s *Sandbox) AddApp(a App) error {
	if a.Name == "" {
		a.Name = a.AppID
	}
	if err := validateApp(a); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[a.AppID]; ok {
		return fmt.Errorf("AppID %q already registered: %w", a.AppID, ErrConflict)
	}
	if a.SessionKey != nil {
		p := a.SessionKey.withDefaults() // a copy: the caller's stays theirs
		a.SessionKey = &p
	}
	a.IPWhitelist = slices.Clone(a.IPWhitelist)
	a.Domains = slices.Clone(a.Domains)
	s.apps[a.AppID] = &a
	s.appOrder = append(s.appOrder, a.AppID)
	s.log.Info("sandbox app added", "app", a.Name, "appid", a.AppID, "kind", a.Kind)
	return nil
}

// Apps returns the registered apps, secrets included, in registration order.
func (s *Sandbox) Apps() []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]App, 0, len(s.appOrder))
	for _, id := range s.appOrder {
		a := *s.apps[id]
		if a.SessionKey != nil {
			p := a.SessionKey.withDefaults()
			a.SessionKey = &p
		}
		out = append(out, a)
	}
	return out
}

func validateApp(a App) error {
	switch a.Kind {
	case KindMiniProgram, KindOfficialAccount, KindWebsite, KindMobileApp:
	case "":
		return errors.New("Kind is empty")
	default:
		return fmt.Errorf("Kind %q is not %q, %q, %q or %q", a.Kind, KindMiniProgram, KindOfficialAccount, KindWebsite, KindMobileApp)
	}
	if _, err := parseIPWhitelist(a.IPWhitelist); err != nil {
		return err
	}
	if len(a.IPWhitelist) > 0 && ipGuarded[a.Kind] == nil {
		return fmt.Errorf("IPWhitelist: a %s has no IP whitelist on WeChat", a.Kind)
	}
	if err := checkToken(a.AppID); err != nil {
		return fmt.Errorf("AppID %w", err)
	}
	if err := checkToken(a.Secret); err != nil {
		return fmt.Errorf("Secret %w", err)
	}
	if len(a.Name) > 128 {
		return errors.New("Name is longer than 128 bytes")
	}
	if len(a.Pages) > 0 && a.Kind != KindMiniProgram {
		return fmt.Errorf("Pages are for %s apps, not %s", KindMiniProgram, a.Kind)
	}
	if a.SessionKey != nil {
		if a.Kind != KindMiniProgram {
			return fmt.Errorf("SessionKey is for %s apps, not %s", KindMiniProgram, a.Kind)
		}
		if err := a.SessionKey.validate(); err != nil {
			return fmt.Errorf("SessionKey: %w", err)
		}
	}
	if err := checkPushSettings(a); err != nil {
		return err
	}
	for _, d := range a.Domains {
		if d == "" || len(d) > 253 || d != strings.ToLower(d) || strings.ContainsAny(d, ":/@?#%[]\\") || strings.IndexFunc(d, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return fmt.Errorf("Domains: %q is not a lower-case host name (no scheme, port or path)", d)
		}
	}
	return nil
}

// checkToken accepts 1–128 bytes of printable ASCII without spaces, which
// is what appids, secrets and user names travel as in query strings.
func checkToken(v string) error {
	if v == "" {
		return errors.New("is empty")
	}
	if len(v) > 128 {
		return errors.New("is longer than 128 bytes")
	}
	if strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return errors.New("has characters other than printable ASCII")
	}
	return nil
}

// readRand fills b from the configured source. s.mu must be held.
func (s *Sandbox) readRand(b []byte) error {
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return fmt.Errorf("read random: %w", err)
	}
	return nil
}

// LogValue shows a without its secret, so an App can be logged whole.
func (a App) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", a.Name),
		slog.String("kind", a.Kind),
		slog.String("appid", a.AppID),
		slog.Bool("unbound", a.Unbound),
	)
}

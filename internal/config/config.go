package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/redact"
	"github.com/wxauth/wxauth/internal/tokenheader"
)

// App kinds: package login defines them (login.Kinds); these name them
// for configuration code.
const (
	KindMiniProgram     = string(login.KindMiniProgram)
	KindOfficialAccount = string(login.KindOfficialAccount)
	KindWebsite         = string(login.KindWebsite)
	KindMobileApp       = string(login.KindMobileApp)
)

// Registration policies.
const (
	RegistrationAuto      = "auto"
	RegistrationBindPhone = "bind_phone"
)

// Config is the whole configuration. The keys of the file and their
// WXAUTH_* variables are defined once, in keys.go.
type Config struct {
	Addr string
	// MetricsAddr is where `wxauth serve` answers GET /metrics, a listener
	// of its own so the public port never shows them; "" or "off": nowhere
	// (MetricsOff). `wxauth dev` serves them on Addr.
	MetricsAddr string
	Issuer      string
	Audience    string // empty: the issuer
	DatabaseURL string // postgres://… or sqlite:PATH
	RedisURL    string // empty: in-process store
	WeChat      WeChat
	Apps        []App
	Tokens      Tokens
	Account     Account
	// Registration is auto or bind_phone.
	Registration string
	Redirects    []string
	CORSOrigins  []string
	// TokenHeader names a header (X-Wx-Ticket) from which the authenticated
	// endpoints read the raw access token, besides Authorization: Bearer.
	// Empty: Authorization: Bearer only.
	TokenHeader string
	// ServiceKeys are the keys other services present as bearer tokens,
	// each named and limited to its scopes; secrets come from
	// WXAUTH_SERVICE_KEY_<NAME>.
	ServiceKeys []ServiceKey
	// Secret (≥ 32 bytes) keys refresh tokens and encrypts secrets at rest.
	Secret   string
	LogLevel string // debug, info, warn, error
	// LogFormat is auto (text on a terminal, JSON otherwise), text or json.
	LogFormat string
	// TrustedProxyHeader names the header the load balancer puts the client
	// address in (X-Forwarded-For: its last entry; X-Real-IP: as is).
	// Empty: the connection's address.
	TrustedProxyHeader string
	RateLimits         RateLimits
	// SMS is the text-message provider of the bind flow.
	SMS SMS
	// OIDC is the OpenID Provider's clients (docs/oidc.md).
	OIDC OIDC
	// KeyReload is how often instances reload the shared signing keys; a
	// new key signs after two reloads.
	KeyReload Duration
	// QRLogin configures logins by scanning a code (docs/qrlogin.md).
	QRLogin QRLogin
	// ShutdownTimeout bounds a graceful stop of `wxauth serve`: requests
	// still running after it are cut off, so the process exits before the
	// orchestrator's own deadline (Kubernetes' SIGKILL).
	ShutdownTimeout Duration
	// ShutdownDelay is how long `wxauth serve` keeps serving, /readyz
	// answering 503, between the signal and closing its listener, so the
	// load balancer stops sending first. Zero: close at once.
	ShutdownDelay Duration

	// lines are the file's line of each key path Parse read, for the
	// problems Validate finds.
	lines map[string]int
}

// SMS providers (sms.provider).
const (
	SMSDev     = "dev"
	SMSTencent = "tencent"
	SMSAliyun  = "aliyun"
	SMSWebhook = "webhook"
)

// SMS configures the sender of the bind flow's codes (docs/bind.md "SMS
// providers"). The credentials come from WXAUTH_SMS_* variables only,
// never from the file.
type SMS struct {
	// Provider is dev, tencent, aliyun or webhook. Empty: none (`wxauth
	// dev` uses the development sender; `serve` under bind_phone refuses).
	Provider string
	// Template is the provider's template id (webhook: passed on).
	Template string
	// SignName is the approved signature (签名) shown in the message.
	SignName string
	// Region is the provider's region; empty: ap-guangzhou (tencent),
	// cn-hangzhou (aliyun).
	Region string
	// AppID is Tencent Cloud's SmsSdkAppId.
	AppID string
	// WebhookURL receives the webhook's POSTs.
	WebhookURL string
	// Countries are the calling codes codes are sent to, digits only.
	Countries []string
	// DailyBudget is how many codes the service sends per UTC day, a
	// positive integer (see [SMS.Budget]).
	DailyBudget string

	// From the environment only.
	SecretID        string // WXAUTH_SMS_SECRET_ID (tencent)
	SecretKey       string // WXAUTH_SMS_SECRET_KEY (tencent)
	AccessKeyID     string // WXAUTH_SMS_ACCESS_KEY_ID (aliyun)
	AccessKeySecret string // WXAUTH_SMS_ACCESS_KEY_SECRET (aliyun)
	WebhookSecret   string // WXAUTH_SMS_WEBHOOK_SECRET (webhook)
}

// Budget is DailyBudget as a rule of ratelimit.Rules.SMSDailyBudget
// (Validate reports a bad one).
func (s SMS) Budget() ratelimit.Rule {
	n, _ := strconv.Atoi(s.DailyBudget)
	return ratelimit.Rule{Name: "sms_budget", Limit: max(n, 0), Window: 24 * time.Hour}
}

// RateLimits are attempt limits shared by all instances, each "N/window"
// (e.g. "300/1m") or "off".
type RateLimits struct {
	LoginPerIP        string
	LoginPerUser      string
	RefreshPerIP      string
	RefreshPerSession string
	// SMS codes (docs/api.md "Binding"): per phone, and per client
	// address whatever the phone.
	SMSPerPhoneMinute string
	SMSPerPhoneDay    string
	SMSPerIPHour      string
	// AuthorizePerIP counts GET /v1/oauth/wechat/authorize per client
	// address: unauthenticated, and each one stores a state.
	AuthorizePerIP string
	// QRLoginPerIP counts the reads of QR login tickets per client
	// address (GET /v1/qrlogin/{ticket} and its image): unauthenticated
	// but for a poll token, each one a store read.
	QRLoginPerIP string
	// PushPerIP counts WeChat's pushes (/v1/wechat/push/{app}) per app
	// and sending address: unauthenticated until the signature is
	// checked, and a scan stores a dedupe mark.
	PushPerIP string
}

// Rules are the parsed rate limits (Validate reports bad ones), for
// ratelimit.NewPolicy.
func (r RateLimits) Rules() ratelimit.Rules {
	parse := func(name, v string) ratelimit.Rule {
		rule, _ := ratelimit.ParseRule(name, v)
		return rule
	}
	return ratelimit.Rules{
		LoginPerIP:        parse("login_ip", r.LoginPerIP),
		LoginPerUser:      parse("login_user", r.LoginPerUser),
		RefreshPerIP:      parse("refresh_ip", r.RefreshPerIP),
		RefreshPerSession: parse("refresh_session", r.RefreshPerSession),
		SMSPerPhoneMinute: parse("sms_phone_minute", r.SMSPerPhoneMinute),
		SMSPerPhoneDay:    parse("sms_phone_day", r.SMSPerPhoneDay),
		SMSPerIP:          parse("sms_ip_hour", r.SMSPerIPHour),
		AuthorizePerIP:    parse("authorize_ip", r.AuthorizePerIP),
		QRLoginPerIP:      parse("qrlogin_ip", r.QRLoginPerIP),
		PushPerIP:         parse("push_ip", r.PushPerIP),
	}
}

// WeChat says where WeChat's servers are (the sandbox in development).
type WeChat struct {
	// APIBase is one or more base URLs, comma-separated, tried in order
	// when one cannot be reached (see [WeChat.APIBases]).
	APIBase  string
	OpenBase string
	// MPBase serves the pictures of parametric QR codes
	// (mp.weixin.qq.com).
	MPBase  string
	Timeout Duration // 0: 5s
}

// APIBases is APIBase split at commas, blanks trimmed and empty items
// dropped: the hosts wechat.Config.APIBases tries in order.
func (w WeChat) APIBases() []string {
	var out []string
	for _, b := range strings.Split(w.APIBase, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// App is one configured WeChat application. Its secret may come from
// WXAUTH_APP_<NAME>_SECRET instead of the file.
type App struct {
	Name   string
	Kind   string
	AppID  string
	Secret string
	// Domains are the hosts registered on WeChat's side for an
	// official_account (its web authorization domain) or website app (its
	// callback domain): exact host names, no port (docs/h5.md).
	Domains []string
	// PushToken and PushAESKey are an official_account's server
	// configuration on WeChat (服务器配置, docs/follow-login.md): the
	// token that signs pushes and the EncodingAESKey of safe mode (empty:
	// plaintext mode). Empty PushToken: the app takes no pushes.
	PushToken  string
	PushAESKey string
	// QRLoginPage is the miniprogram page a QR login's code opens, e.g.
	// pages/qrlogin/index (no leading "/", no query); empty: the home
	// page. QRLoginEnvVersion is the version it opens: release (empty),
	// trial or develop (docs/qrlogin.md).
	QRLoginPage, QRLoginEnvVersion string
}

// QRLogin is qrlogin.*.
type QRLogin struct {
	// TTL is a QR login ticket's lifetime.
	TTL Duration
}

// LogValue keeps the app secret out of logs.
func (a App) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", a.Name), slog.String("kind", a.Kind), slog.String("appid", a.AppID))
}

// ServiceKey is one entry of service_keys: a named key for another
// service, allowed only its scopes. The file names it; its secret comes
// from WXAUTH_SERVICE_KEY_<NAME>, never from the file.
type ServiceKey struct {
	Name   string
	Scopes []string
	Secret string
}

// LogValue keeps the key's secret out of logs.
func (k ServiceKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", k.Name), slog.Any("scopes", k.Scopes))
}

// Tokens are the lifetimes of docs/api.md "Token response".
type Tokens struct {
	AccessTTL     Duration
	RefreshTTL    Duration
	SessionMaxAge Duration
	ReuseGrace    Duration
}

// Account configures what a user does to their whole account
// (docs/operations.md "Account deletion and data export").
type Account struct {
	// DeleteRecentLogin: DELETE /v1/me needs a session whose login (not
	// its last refresh) is younger than this.
	DeleteRecentLogin Duration
}

// Duration is a time.Duration written as "2h", "30s" in YAML and env.
type Duration time.Duration

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults is the configuration before the file and the environment.
func Defaults() Config {
	return Config{
		Addr:        "127.0.0.1:8080",
		MetricsAddr: "127.0.0.1:9464",
		WeChat: WeChat{
			APIBase:  "https://api.weixin.qq.com,https://api2.weixin.qq.com",
			OpenBase: "https://open.weixin.qq.com",
			MPBase:   "https://mp.weixin.qq.com",
			Timeout:  Duration(5 * time.Second),
		},
		Tokens: Tokens{
			AccessTTL:     Duration(2 * time.Hour),
			RefreshTTL:    Duration(168 * time.Hour),
			SessionMaxAge: Duration(720 * time.Hour),
			ReuseGrace:    Duration(30 * time.Second),
		},
		Account:         Account{DeleteRecentLogin: Duration(10 * time.Minute)},
		Registration:    RegistrationAuto,
		LogLevel:        "info",
		LogFormat:       "auto",
		KeyReload:       Duration(15 * time.Second),
		ShutdownTimeout: Duration(20 * time.Second),
		QRLogin:         QRLogin{TTL: Duration(5 * time.Minute)},
		// Generous per IP: many mobile users in China share a carrier-grade
		// NAT address.
		RateLimits: RateLimits{
			LoginPerIP:        "300/1m",
			LoginPerUser:      "20/1m",
			RefreshPerIP:      "1200/1m",
			RefreshPerSession: "60/1m",
			// docs/api.md "Binding".
			SMSPerPhoneMinute: "1/1m",
			SMSPerPhoneDay:    "10/24h",
			SMSPerIPHour:      "30/1h",
			// As generous as logins: a state per page load behind one NAT.
			AuthorizePerIP: "300/1m",
			// A browser reads its ticket about three times a minute (long
			// polls of 25 s, the image once): generous for an office NAT.
			QRLoginPerIP: "1200/1m",
			// WeChat pushes from a few addresses, one push per scan.
			PushPerIP: "1200/1m",
		},
		SMS: SMS{Countries: []string{"86"}, DailyBudget: "10000"},
	}
}

var appName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// domainName is a lower-case host name or IPv4 address, as registered on
// WeChat's side.
var domainName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

func isDomain(d string) bool { return len(d) <= 253 && domainName.MatchString(d) }

// CheckWeChatDomains reports the browser-login redirects WeChat would
// refuse (reference §5.1, §6: error page 10003, no redirect): WeChat sends
// the browser back only to a host registered for the app, matched exactly,
// on the default port. So under `serve`, against WeChat itself, every
// official_account and website app needs its domains, and every
// redirects entry must be on the default port and on a domain of one of
// those apps. `wxauth dev` and the tests skip this: the sandbox allows its
// own origin (sandbox.Config.DevOrigins).
func (c *Config) CheckWeChatDomains() error {
	var ps Problems
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...), Line: c.lineOf(key)})
	}
	var browser []App
	for i, a := range c.Apps {
		if a.Kind != KindOfficialAccount && a.Kind != KindWebsite {
			continue
		}
		browser = append(browser, a)
		if len(a.Domains) == 0 {
			bad(fmt.Sprintf("apps[%d].domains", i), "app %q (%s) needs the domains registered for it on WeChat (%s), else WeChat refuses every redirect_uri (error 10003)",
				a.Name, a.Kind, map[string]string{KindOfficialAccount: "the Official Account's web authorization domain", KindWebsite: "the website app's callback domain"}[a.Kind])
		}
	}
	if len(browser) == 0 {
		return nil
	}
	c.checkOIDCDomains(browser, bad)
	for i, r := range c.Redirects {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			continue // Validate reports it
		}
		key := fmt.Sprintf("redirects[%d]", i)
		if p := u.Port(); p != "" && !(p == "80" && u.Scheme == "http" || p == "443" && u.Scheme == "https") {
			bad(key, "%q: WeChat returns only to the default port (80, 443), never to port %s, for any app (%s)", r, p, appNames(browser))
			continue
		}
		host := strings.ToLower(u.Hostname())
		var on []string
		for _, a := range browser {
			if slices.Contains(a.Domains, host) {
				on = append(on, a.Name)
			}
		}
		if len(on) == 0 {
			bad(key, "%q: host %s is a domain of none of the apps %s; WeChat would refuse it (10003). Add it to an app's domains (registered on WeChat) or remove it", r, host, appNames(browser))
		}
	}
	return ps.err()
}

func appNames(apps []App) string {
	names := make([]string, len(apps))
	for i, a := range apps {
		d := strings.Join(a.Domains, ", ")
		if d == "" {
			d = "none"
		}
		names[i] = fmt.Sprintf("%s (domains: %s)", a.Name, d)
	}
	return strings.Join(names, ", ")
}

// Validate checks c as a whole. needSecret is true in production, where the
// secret cannot be generated. Every problem names its key (and its line,
// when the file set it); all of them come back together, in file order.
func (c *Config) Validate(needSecret bool) error {
	var ps Problems
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...), Line: c.lineOf(key)})
	}
	isURL := func(v string) bool {
		u, err := url.Parse(v)
		return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port", c.Addr)
	}
	if !c.MetricsOff() {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("metrics_addr", "%q is not host:port, or off", c.MetricsAddr)
		}
	}
	if !isURL(c.Issuer) {
		bad("issuer", "%q is not an http(s) URL", c.Issuer)
	}
	if c.DatabaseURL == "" {
		bad("database_url", "required (postgres://… or sqlite:PATH)")
	}
	if bases := c.WeChat.APIBases(); len(bases) == 0 {
		bad("wechat.api_base", "required: one or more http(s) URLs, comma-separated")
	} else {
		for _, b := range bases {
			if !isURL(b) {
				bad("wechat.api_base", "%q is not an http(s) URL", b)
			}
		}
	}
	if !isURL(c.WeChat.OpenBase) {
		bad("wechat.open_base", "%q is not an http(s) URL", c.WeChat.OpenBase)
	}
	if !isURL(c.WeChat.MPBase) {
		bad("wechat.mp_base", "%q is not an http(s) URL", c.WeChat.MPBase)
	}
	c.validatePush(bad)
	if c.WeChat.Timeout < 0 {
		bad("wechat.timeout", "must not be negative")
	}
	if len(c.Apps) == 0 {
		bad("apps", "at least one app is required")
	}
	seen := map[string]bool{}
	seenID := map[string]bool{}
	for i, a := range c.Apps {
		key := fmt.Sprintf("apps[%d]", i)
		if !appName.MatchString(a.Name) {
			bad(key+".name", "%q must be lower-case letters, digits and _ (at most 32)", a.Name)
		} else if seen[a.Name] {
			bad(key+".name", "%q is used twice", a.Name)
		}
		seen[a.Name] = true
		if _, ok := login.ParseKind(a.Kind); !ok {
			bad(key+".kind", "%q is not miniprogram, official_account, website or mobile_app", a.Kind)
		}
		if a.AppID == "" {
			bad(key+".appid", "required")
		} else if seenID[a.AppID] {
			bad(key+".appid", "%q is used twice", a.AppID)
		}
		seenID[a.AppID] = true
		if a.Secret == "" {
			bad(key+".secret", "required (or WXAUTH_APP_%s_SECRET)", strings.ToUpper(a.Name))
		}
		for j, d := range a.Domains {
			if !isDomain(d) {
				bad(fmt.Sprintf("%s.domains[%d]", key, j), "%q is not a host name such as h5.example.com (lower case; no scheme, port or path)", d)
			}
		}
		if len(a.Domains) > 0 && a.Kind != KindOfficialAccount && a.Kind != KindWebsite {
			bad(key+".domains", "only official_account and website apps have domains")
		}
		if (a.QRLoginPage != "" || a.QRLoginEnvVersion != "") && a.Kind != KindMiniProgram {
			bad(key+".qrlogin_page", "only miniprogram apps have QR login pages")
		}
		if p := a.QRLoginPage; p != "" && (strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#& ") || len(p) > 128) {
			bad(key+".qrlogin_page", "%q is not a page path such as pages/qrlogin/index (no leading /, no query)", p)
		}
		if v := a.QRLoginEnvVersion; v != "" && v != "release" && v != "trial" && v != "develop" {
			bad(key+".qrlogin_env_version", "%q is not release, trial or develop", v)
		}
	}
	if err := tokenheader.Check(c.TokenHeader); err != nil {
		bad("token_header", "%v", err)
	} else if c.TokenHeader != "" && strings.EqualFold(c.TokenHeader, c.TrustedProxyHeader) {
		bad("token_header", "%q is trusted_proxy_header: one header cannot carry both the client address and the token", c.TokenHeader)
	}
	for _, k := range []struct {
		key string
		d   Duration
	}{{"tokens.access_ttl", c.Tokens.AccessTTL}, {"tokens.refresh_ttl", c.Tokens.RefreshTTL}, {"tokens.session_max_age", c.Tokens.SessionMaxAge}, {"account.delete_recent_login", c.Account.DeleteRecentLogin}} {
		if k.d <= 0 {
			bad(k.key, "must be positive")
		}
	}
	if c.QRLogin.TTL < Duration(30*time.Second) || c.QRLogin.TTL > Duration(30*time.Minute) {
		bad("qrlogin.ttl", "must be between 30s and 30m")
	}
	if c.KeyReload < Duration(100*time.Millisecond) {
		bad("key_reload", "must be at least 100ms")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive")
	}
	if c.ShutdownDelay < 0 {
		bad("shutdown_delay", "must not be negative")
	}
	if c.Tokens.ReuseGrace < 0 {
		bad("tokens.reuse_grace", "must not be negative")
	}
	if c.Tokens.RefreshTTL > 0 && c.Tokens.AccessTTL > c.Tokens.RefreshTTL {
		bad("tokens.access_ttl", "%s is longer than tokens.refresh_ttl %s", formatDuration(c.Tokens.AccessTTL.D()), formatDuration(c.Tokens.RefreshTTL.D()))
	}
	if c.Tokens.SessionMaxAge > 0 && c.Tokens.RefreshTTL > c.Tokens.SessionMaxAge {
		bad("tokens.refresh_ttl", "%s is longer than tokens.session_max_age %s", formatDuration(c.Tokens.RefreshTTL.D()), formatDuration(c.Tokens.SessionMaxAge.D()))
	}
	switch c.Registration {
	case RegistrationAuto, RegistrationBindPhone:
	default:
		bad("registration", "%q is not auto or bind_phone", c.Registration)
	}
	for i, r := range c.Redirects {
		if !isURL(r) {
			bad(fmt.Sprintf("redirects[%d]", i), "%q is not an http(s) URL prefix", r)
		}
	}
	for i, o := range c.CORSOrigins {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad(fmt.Sprintf("cors_origins[%d]", i), "%q is not an origin like https://app.example.com", o)
		}
	}
	seenKey, seenSecret := map[string]bool{}, map[string]bool{}
	for i, k := range c.ServiceKeys {
		key := fmt.Sprintf("service_keys[%d]", i)
		if !appName.MatchString(k.Name) {
			bad(key+".name", "%q must be lower-case letters, digits and _ (at most 32)", k.Name)
		} else if seenKey[k.Name] {
			bad(key+".name", "%q is used twice", k.Name)
		}
		seenKey[k.Name] = true
		if len(k.Scopes) == 0 {
			bad(key+".scopes", "required: one or more of %s", strings.Join(api.ServiceKeyScopes, ", "))
		}
		for j, s := range k.Scopes {
			if !slices.Contains(api.ServiceKeyScopes, s) {
				bad(fmt.Sprintf("%s.scopes[%d]", key, j), "%q is not one of %s", s, strings.Join(api.ServiceKeyScopes, ", "))
			}
		}
		switch {
		case k.Secret == "":
			bad(key+".secret", "required: set WXAUTH_SERVICE_KEY_%s", strings.ToUpper(k.Name))
		case len(k.Secret) < 16:
			bad(key+".secret", "WXAUTH_SERVICE_KEY_%s is shorter than 16 characters", strings.ToUpper(k.Name))
		case seenSecret[k.Secret]:
			bad(key+".secret", "WXAUTH_SERVICE_KEY_%s is another key's secret too; give each service its own", strings.ToUpper(k.Name))
		}
		seenSecret[k.Secret] = true
	}
	if needSecret && len(c.Secret) < 32 {
		bad("secret", "required, at least 32 bytes (WXAUTH_SECRET)")
	} else if c.Secret != "" && len(c.Secret) < 32 {
		bad("secret", "must be at least 32 bytes")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		bad("log_format", "%q is not auto, text or json", c.LogFormat)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k.Path, "rate_limits.") {
			continue
		}
		v := *k.ref(c).(*string)
		if _, err := ratelimit.ParseRule(k.Path, v); err != nil {
			bad(k.Path, "%v", err)
		}
	}
	c.validateSMS(needSecret, bad)
	c.validateOIDC(bad)
	if len(c.SMS.Countries) == 0 {
		bad("sms.countries", "at least one calling code is required (86: mainland China)")
	}
	for i, cc := range c.SMS.Countries {
		if len(cc) < 1 || len(cc) > 3 || strings.Trim(cc, "0123456789") != "" || cc[0] == '0' {
			bad(fmt.Sprintf("sms.countries[%d]", i), "%q is not a calling code (1 to 3 digits, no +: 86, 852, 1)", cc)
		}
	}
	if n, err := strconv.Atoi(c.SMS.DailyBudget); err != nil || n < 1 {
		bad("sms.daily_budget", "%q is not a positive number of SMS codes per day", c.SMS.DailyBudget)
	}
	if h := c.TrustedProxyHeader; h != "" && http.CanonicalHeaderKey(h) != http.CanonicalHeaderKey(strings.TrimSpace(h)) {
		bad("trusted_proxy_header", "%q is not a header name", h)
	}
	return ps.err()
}

// validateSMS checks the sms.* keys. In production (serve) the development
// sender is refused: it delivers to the sandbox inbox of `wxauth dev` only,
// so under bind_phone a provider is required.
func (c *Config) validateSMS(production bool, bad func(key, format string, args ...any)) {
	s := c.SMS
	need := func(v, key string) {
		if v == "" {
			bad(key, "required with sms.provider %s", s.Provider)
		}
	}
	switch s.Provider {
	case "":
		if production && c.Registration == RegistrationBindPhone {
			bad("sms.provider", "required with registration bind_phone: tencent, aliyun or webhook (codes must reach phones)")
		}
	case SMSDev:
		if production {
			bad("sms.provider", "dev delivers only to the sandbox inbox of `wxauth dev`; serve needs tencent, aliyun or webhook")
		}
	case SMSTencent:
		need(s.AppID, "sms.app_id")
		need(s.Template, "sms.template")
		need(s.SignName, "sms.sign_name")
		need(s.SecretID, "WXAUTH_SMS_SECRET_ID")
		need(s.SecretKey, "WXAUTH_SMS_SECRET_KEY")
	case SMSAliyun:
		need(s.Template, "sms.template")
		need(s.SignName, "sms.sign_name")
		need(s.AccessKeyID, "WXAUTH_SMS_ACCESS_KEY_ID")
		need(s.AccessKeySecret, "WXAUTH_SMS_ACCESS_KEY_SECRET")
	case SMSWebhook:
		u, err := url.Parse(s.WebhookURL)
		switch {
		case s.WebhookURL == "":
			need("", "sms.webhook_url")
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("sms.webhook_url", "%q is not an http(s) URL", s.WebhookURL)
		case production && u.Scheme != "https":
			bad("sms.webhook_url", "%q: serve sends codes over https only", s.WebhookURL)
		}
		if len(s.WebhookSecret) < 32 {
			bad("WXAUTH_SMS_WEBHOOK_SECRET", "required with sms.provider webhook, at least 32 bytes")
		}
	default:
		bad("sms.provider", "%q is not dev, tencent, aliyun or webhook", s.Provider)
	}
}

// lineOf is the file's line of key, or of the nearest enclosing key the
// file set (apps[1] for apps[1].secret); 0 when the file did not set it.
func (c *Config) lineOf(key string) int {
	for key != "" {
		if l, ok := c.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// Level is the parsed log level (info when invalid; Validate reports that).
func (c *Config) Level() slog.Level {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return lvl
}

// App finds a configured app by name.
func (c *Config) App(name string) (App, bool) {
	for _, a := range c.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}

// MetricsOff reports whether metrics_addr turns the metrics listener off
// (empty or "off").
func (c *Config) MetricsOff() bool {
	return c.MetricsAddr == "" || c.MetricsAddr == "off"
}

// LogValue is what start-up logs of the configuration: no secrets, no
// connection-string passwords.
func (c *Config) LogValue() slog.Value {
	names := make([]string, len(c.Apps))
	for i, a := range c.Apps {
		names[i] = a.Name + "(" + a.Kind + ")"
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("issuer", c.Issuer),
		slog.String("database", redact.URLs(c.DatabaseURL)),
		slog.String("redis", redact.URLs(c.RedisURL)),
		slog.String("wechat_api", c.WeChat.APIBase),
		slog.Any("apps", names),
		slog.String("registration", c.Registration),
		slog.String("sms_provider", c.SMS.Provider),
	)
}

// ValidateOnly is Validate for a command that uses only some keys (an
// admin command needs no app secrets): problems of other keys are left
// out. Keys are YAML paths; "secret" is checked as required.
func (c *Config) ValidateOnly(keys ...string) error {
	err := c.Validate(slices.Contains(keys, "secret"))
	var ps Problems
	if !errors.As(err, &ps) {
		return err
	}
	var kept Problems
	for _, p := range ps {
		if slices.Contains(keys, p.Key) {
			kept = append(kept, p)
		}
	}
	return kept.err()
}

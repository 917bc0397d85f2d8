package config

import (
	"fmt"
	"strings"
	"time"
)

// valueKind is how a key's value is written.
type valueKind int

const (
	text     valueKind = iota // a string
	duration                  // a Go duration: 90s, 15m, 2h
	list                      // a YAML sequence; comma-separated in the environment
)

// Key is one configuration key: its path in the YAML file, the WXAUTH_*
// variable that overrides it, what it means, and where it goes in Config.
// This table is the one definition of the keys: parsing, the environment,
// defaults (Defaults sets them in Config, the table reads them back) and
// the table in docs/configuration.md (TestDocsTable) all come from it;
// Validate checks the values.
type Key struct {
	Path string
	Env  string
	// Default describes the default when Defaults() has none to show (dev
	// fills it in, or empty means something).
	Default string
	Doc     string
	kind    valueKind
	ref     func(*Config) any // *string, *Duration or *[]string
}

func str(f func(*Config) *string) func(*Config) any    { return func(c *Config) any { return f(c) } }
func dur(f func(*Config) *Duration) func(*Config) any  { return func(c *Config) any { return f(c) } }
func strs(f func(*Config) *[]string) func(*Config) any { return func(c *Config) any { return f(c) } }

// keys are every key but the apps' own (appKeys), in the order of the
// documentation.
var keys = []Key{
	{Path: "addr", Env: "WXAUTH_ADDR", Doc: "listen address", ref: str(func(c *Config) *string { return &c.Addr })},
	{Path: "metrics_addr", Env: "WXAUTH_METRICS_ADDR", Doc: "where `serve` answers `GET /metrics` (Prometheus), never on `addr`; empty or `off`: nowhere (dev: on its one port)", ref: str(func(c *Config) *string { return &c.MetricsAddr })},
	{Path: "issuer", Env: "WXAUTH_ISSUER", Default: "(dev: the server's origin)", Doc: "`iss` of access tokens; an http(s) URL", ref: str(func(c *Config) *string { return &c.Issuer })},
	{Path: "audience", Env: "WXAUTH_AUDIENCE", Default: "the issuer", Doc: "`aud` of access tokens", ref: str(func(c *Config) *string { return &c.Audience })},
	{Path: "database_url", Env: "WXAUTH_DATABASE_URL", Default: "(dev: `sqlite:<data>/wxauth.db`)", Doc: "`postgres://user@host:5432/db?sslmode=…[&pool_max_conns=N]` or `sqlite:PATH`", ref: str(func(c *Config) *string { return &c.DatabaseURL })},
	{Path: "redis_url", Env: "WXAUTH_REDIS_URL", Default: "empty: in-process sessions", Doc: "`redis://host:6379/0`, `rediss://…`, `redis+cluster://h1:p1,h2:p2,…`, `redis+sentinel://s1:p1,s2:p2/master`", ref: str(func(c *Config) *string { return &c.RedisURL })},
	{Path: "wechat.api_base", Env: "WXAUTH_WECHAT_API_BASE", Doc: "WeChat's API servers, comma-separated, tried in order when one cannot be reached (api2 is WeChat's disaster-recovery host; dev: the sandbox)", ref: str(func(c *Config) *string { return &c.WeChat.APIBase })},
	{Path: "wechat.open_base", Env: "WXAUTH_WECHAT_OPEN_BASE", Doc: "WeChat's authorization pages (dev: the sandbox)", ref: str(func(c *Config) *string { return &c.WeChat.OpenBase })},
	{Path: "wechat.mp_base", Env: "WXAUTH_WECHAT_MP_BASE", Doc: "where WeChat serves parametric QR code pictures (`showqrcode`; dev: the sandbox)", ref: str(func(c *Config) *string { return &c.WeChat.MPBase })},
	{Path: "wechat.timeout", Env: "WXAUTH_WECHAT_TIMEOUT", Doc: "per call to WeChat", kind: duration, ref: dur(func(c *Config) *Duration { return &c.WeChat.Timeout })},
	{Path: "tokens.access_ttl", Env: "WXAUTH_ACCESS_TTL", Doc: "access-token lifetime", kind: duration, ref: dur(func(c *Config) *Duration { return &c.Tokens.AccessTTL })},
	{Path: "tokens.refresh_ttl", Env: "WXAUTH_REFRESH_TTL", Doc: "idle session lifetime, sliding", kind: duration, ref: dur(func(c *Config) *Duration { return &c.Tokens.RefreshTTL })},
	{Path: "tokens.session_max_age", Env: "WXAUTH_SESSION_MAX_AGE", Doc: "absolute session lifetime", kind: duration, ref: dur(func(c *Config) *Duration { return &c.Tokens.SessionMaxAge })},
	{Path: "tokens.reuse_grace", Env: "WXAUTH_REUSE_GRACE", Doc: "grace window for a rotated refresh token; `0s` disables it", kind: duration, ref: dur(func(c *Config) *Duration { return &c.Tokens.ReuseGrace })},
	{Path: "account.delete_recent_login", Env: "WXAUTH_ACCOUNT_DELETE_RECENT_LOGIN", Doc: "`DELETE /v1/me` needs a session whose login (not its last refresh) is younger than this, else 403 `reauthentication_required` ([operations.md](operations.md#account-deletion-and-data-export))", kind: duration, ref: dur(func(c *Config) *Duration { return &c.Account.DeleteRecentLogin })},
	{Path: "registration", Env: "WXAUTH_REGISTRATION", Doc: "`auto` or `bind_phone`", ref: str(func(c *Config) *string { return &c.Registration })},
	{Path: "redirects", Env: "WXAUTH_REDIRECTS", Default: "(dev: the server's origin)", Doc: "allowed redirect prefixes", kind: list, ref: strs(func(c *Config) *[]string { return &c.Redirects })},
	{Path: "cors_origins", Env: "WXAUTH_CORS_ORIGINS", Default: "none", Doc: "origins allowed to call the API from a browser", kind: list, ref: strs(func(c *Config) *[]string { return &c.CORSOrigins })},
	{Path: "token_header", Env: "WXAUTH_TOKEN_HEADER", Default: "empty: `Authorization: Bearer` only", Doc: "a header of your own (`X-Wx-Ticket`) from which the authenticated endpoints read the raw access token; `Authorization: Bearer` keeps working beside it (both present: the same token, else 400); CORS allows it ([api.md](api.md#conventions))", ref: str(func(c *Config) *string { return &c.TokenHeader })},
	{Path: "secret", Env: "WXAUTH_SECRET", Default: "(dev: generated into `<data>/secret`)", Doc: "≥ 32 bytes; keys refresh tokens and encrypts secrets at rest; required by `serve` and `keys rotate`", ref: str(func(c *Config) *string { return &c.Secret })},
	{Path: "log_level", Env: "WXAUTH_LOG_LEVEL", Doc: "`debug`, `info`, `warn`, `error`", ref: str(func(c *Config) *string { return &c.LogLevel })},
	{Path: "log_format", Env: "WXAUTH_LOG_FORMAT", Doc: "`auto` (text for a human on a terminal, JSON otherwise), `text` or `json`", ref: str(func(c *Config) *string { return &c.LogFormat })},
	{Path: "trusted_proxy_header", Env: "WXAUTH_TRUSTED_PROXY_HEADER", Default: "empty: the connection's address", Doc: "header with the client address behind a load balancer (`X-Forwarded-For`: its last entry; others: the value)", ref: str(func(c *Config) *string { return &c.TrustedProxyHeader })},
	{Path: "rate_limits.login_per_ip", Env: "WXAUTH_RATE_LOGIN_PER_IP", Doc: "logins per client address; `N/window` or `off`", ref: str(func(c *Config) *string { return &c.RateLimits.LoginPerIP })},
	{Path: "rate_limits.login_per_user", Env: "WXAUTH_RATE_LOGIN_PER_USER", Doc: "logins per user (counted once WeChat has said who it is)", ref: str(func(c *Config) *string { return &c.RateLimits.LoginPerUser })},
	{Path: "rate_limits.refresh_per_ip", Env: "WXAUTH_RATE_REFRESH_PER_IP", Doc: "refreshes per client address", ref: str(func(c *Config) *string { return &c.RateLimits.RefreshPerIP })},
	{Path: "rate_limits.refresh_per_session", Env: "WXAUTH_RATE_REFRESH_PER_SESSION", Doc: "refreshes per session (grace replays count)", ref: str(func(c *Config) *string { return &c.RateLimits.RefreshPerSession })},
	{Path: "rate_limits.sms_per_phone_minute", Env: "WXAUTH_RATE_SMS_PER_PHONE_MINUTE", Doc: "SMS codes per phone, spaced by window/N after the last ([bind.md](bind.md))", ref: str(func(c *Config) *string { return &c.RateLimits.SMSPerPhoneMinute })},
	{Path: "rate_limits.sms_per_phone_day", Env: "WXAUTH_RATE_SMS_PER_PHONE_DAY", Doc: "SMS codes per phone (the day turns at 00:00 UTC)", ref: str(func(c *Config) *string { return &c.RateLimits.SMSPerPhoneDay })},
	{Path: "rate_limits.sms_per_ip_hour", Env: "WXAUTH_RATE_SMS_PER_IP_HOUR", Doc: "SMS codes per client address", ref: str(func(c *Config) *string { return &c.RateLimits.SMSPerIPHour })},
	{Path: "rate_limits.authorize_per_ip", Env: "WXAUTH_RATE_AUTHORIZE_PER_IP", Doc: "browser logins started (`GET /v1/oauth/wechat/authorize` and `POST /v1/qrlogin`, each keeps a state or a ticket) per client address, one counter for both", ref: str(func(c *Config) *string { return &c.RateLimits.AuthorizePerIP })},
	{Path: "rate_limits.qrlogin_per_ip", Env: "WXAUTH_RATE_QRLOGIN_PER_IP", Doc: "reads of QR login tickets (`GET /v1/qrlogin/{ticket}` and its image) per client address", ref: str(func(c *Config) *string { return &c.RateLimits.QRLoginPerIP })},
	{Path: "rate_limits.push_per_ip", Env: "WXAUTH_RATE_PUSH_PER_IP", Doc: "WeChat's pushes (`/v1/wechat/push/{app}`) per app and sending address ([follow-login.md](follow-login.md))", ref: str(func(c *Config) *string { return &c.RateLimits.PushPerIP })},
	{Path: "sms.provider", Env: "WXAUTH_SMS_PROVIDER", Default: "empty: none (dev: the sandbox inbox)", Doc: "`tencent`, `aliyun`, `webhook`, or `dev` (`wxauth dev` only); `serve` under `bind_phone` requires one ([bind.md](bind.md#sms-providers)); credentials only from `WXAUTH_SMS_*` variables", ref: str(func(c *Config) *string { return &c.SMS.Provider })},
	{Path: "sms.template", Env: "WXAUTH_SMS_TEMPLATE", Doc: "the provider's template id for the code message", ref: str(func(c *Config) *string { return &c.SMS.Template })},
	{Path: "sms.sign_name", Env: "WXAUTH_SMS_SIGN_NAME", Doc: "the approved signature (签名) the message carries (tencent, aliyun)", ref: str(func(c *Config) *string { return &c.SMS.SignName })},
	{Path: "sms.region", Env: "WXAUTH_SMS_REGION", Default: "empty: `ap-guangzhou` (tencent), `cn-hangzhou` (aliyun)", Doc: "the provider's region", ref: str(func(c *Config) *string { return &c.SMS.Region })},
	{Path: "sms.app_id", Env: "WXAUTH_SMS_APP_ID", Doc: "Tencent Cloud's SmsSdkAppId", ref: str(func(c *Config) *string { return &c.SMS.AppID })},
	{Path: "sms.webhook_url", Env: "WXAUTH_SMS_WEBHOOK_URL", Doc: "where the webhook provider POSTs signed codes (https in `serve`)", ref: str(func(c *Config) *string { return &c.SMS.WebhookURL })},
	{Path: "sms.countries", Env: "WXAUTH_SMS_COUNTRIES", Doc: "calling codes SMS codes may be sent to (`86`, `852`, `1`); others answer `phone_not_allowed` ([bind.md](bind.md#limits))", kind: list, ref: strs(func(c *Config) *[]string { return &c.SMS.Countries })},
	{Path: "sms.daily_budget", Env: "WXAUTH_SMS_DAILY_BUDGET", Doc: "SMS codes the whole service sends per UTC day; beyond, 503 `unavailable` and `wxauth_sms_budget_exhausted_total` counts", ref: str(func(c *Config) *string { return &c.SMS.DailyBudget })},
	{Path: "qrlogin.ttl", Env: "WXAUTH_QRLOGIN_TTL", Doc: "lifetime of a QR login ticket, 30s to 30m: how long a code shown on a PC can be scanned and confirmed ([qrlogin.md](qrlogin.md))", kind: duration, ref: dur(func(c *Config) *Duration { return &c.QRLogin.TTL })},
	{Path: "audit.enabled", Env: "WXAUTH_AUDIT_ENABLED", Doc: "`true` or `false`: record security events (logins, reuse, logouts, revocations, admin actions) in the database ([operations.md](operations.md#audit-trail))", ref: str(func(c *Config) *string { return &c.Audit.Enabled })},
	{Path: "audit.retention", Env: "WXAUTH_AUDIT_RETENTION", Doc: "how long audit events are kept (`4320h`: 180 days); an hourly purge deletes older ones; `0s`: forever", kind: duration, ref: dur(func(c *Config) *Duration { return &c.Audit.Retention })},
	{Path: "key_reload", Env: "WXAUTH_KEY_RELOAD", Doc: "how often instances reload the shared signing keys; a new key signs after two reloads", kind: duration, ref: dur(func(c *Config) *Duration { return &c.KeyReload })},
	{Path: "shutdown_timeout", Env: "WXAUTH_SHUTDOWN_TIMEOUT", Doc: "on SIGTERM or SIGINT, how long `serve` waits for requests in flight (after `shutdown_delay`) before cutting them off and exiting; keep `shutdown_delay` + this below Kubernetes' `terminationGracePeriodSeconds` ([deploy.md](deploy.md#restarts-and-shutdown))", kind: duration, ref: dur(func(c *Config) *Duration { return &c.ShutdownTimeout })},
	{Path: "shutdown_delay", Env: "WXAUTH_SHUTDOWN_DELAY", Doc: "on SIGTERM or SIGINT, how long `serve` keeps serving with `/readyz` answering 503 before it closes its listener, so the load balancer stops sending first (Kubernetes: `5s`); a second signal ends it", kind: duration, ref: dur(func(c *Config) *Duration { return &c.ShutdownDelay })},
}

// appKeys are the keys of one entry of apps.
var appKeys = []Key{
	{Path: "name", Doc: "the app's key in requests (`app`): lower-case letters, digits and `_`"},
	{Path: "kind", Doc: "`miniprogram`, `official_account`, `website` or `mobile_app` ([app-login.md](app-login.md))"},
	{Path: "appid", Doc: "WeChat's appid"},
	{Path: "secret", Env: "WXAUTH_APP_<NAME>_SECRET", Doc: "WeChat's app secret; better from the environment"},
	{Path: "push_token", Env: "WXAUTH_APP_<NAME>_PUSH_TOKEN", Doc: "`official_account`: the Token of its server configuration on WeChat, 3–32 letters and digits; signs WeChat's pushes ([follow-login.md](follow-login.md)); better from the environment"},
	{Path: "push_aes_key", Env: "WXAUTH_APP_<NAME>_PUSH_AES_KEY", Doc: "`official_account`: the EncodingAESKey (43 characters) when WeChat pushes in safe mode; empty: plaintext mode only; better from the environment"},
	{Path: "domains", Doc: "`official_account`, `website`: the hosts registered on WeChat (web authorization domain, callback domain), a list; required by `serve` ([h5.md](h5.md#what-to-register-on-wechat))"},
	{Path: "qrlogin_page", Doc: "`miniprogram`: the page a QR login's code opens, e.g. `pages/qrlogin/index`; empty: the home page ([qrlogin.md](qrlogin.md))"},
	{Path: "qrlogin_env_version", Doc: "`miniprogram`: the version a QR login's code opens, `release` (empty), `trial` or `develop` (these two skip WeChat's published-page check)"},
}

// serviceKeyKeys are the keys of one entry of service_keys.
var serviceKeyKeys = []Key{
	{Path: "name", Doc: "the key's name: lower-case letters, digits and `_`"},
	{Path: "scopes", Doc: "what the key may call, a list: `introspect`, `revocations`, `wechat_access_token`, `admin` ([api.md](api.md#service-keys))"},
	{Path: "(secret)", Env: "WXAUTH_SERVICE_KEY_<NAME>", Doc: "the key itself, ≥ 16 characters; only from the environment, never the file"},
}

// appList is where an app's list key goes in App; nil for the others.
func appList(a *App, name string) *[]string {
	if name == "domains" {
		return &a.Domains
	}
	return nil
}

// appField is where an app key goes in App.
func appField(a *App, name string) *string {
	switch name {
	case "name":
		return &a.Name
	case "kind":
		return &a.Kind
	case "appid":
		return &a.AppID
	case "secret":
		return &a.Secret
	case "qrlogin_page":
		return &a.QRLoginPage
	case "qrlogin_env_version":
		return &a.QRLoginEnvVersion
	case "push_token":
		return &a.PushToken
	case "push_aes_key":
		return &a.PushAESKey
	}
	return nil
}

// smsCredentials are the SMS providers' credentials: WXAUTH_SMS_* variables
// only, never keys of the file (a file is copied, committed, pasted).
var smsCredentials = map[string]func(*SMS) *string{
	"WXAUTH_SMS_SECRET_ID":         func(s *SMS) *string { return &s.SecretID },
	"WXAUTH_SMS_SECRET_KEY":        func(s *SMS) *string { return &s.SecretKey },
	"WXAUTH_SMS_ACCESS_KEY_ID":     func(s *SMS) *string { return &s.AccessKeyID },
	"WXAUTH_SMS_ACCESS_KEY_SECRET": func(s *SMS) *string { return &s.AccessKeySecret },
	"WXAUTH_SMS_WEBHOOK_SECRET":    func(s *SMS) *string { return &s.WebhookSecret },
}

// Keys lists the configuration keys, for documentation.
func Keys() []Key { return keys }

// exemptEnv are WXAUTH_ variables that are not configuration: the tests'
// and CI's own. Any other unknown WXAUTH_ variable stops start-up.
var exemptEnv = []string{"WXAUTH_TEST_", "WXAUTH_BIN", "WXAUTH_SDK_DEVDEPS", "WXAUTH_REDIS_CLUSTER_DIR"}

// defaultText is how a key's default is shown in the docs.
func (k Key) defaultText() string {
	if k.Default != "" {
		return k.Default
	}
	d := Defaults()
	switch v := k.ref(&d).(type) {
	case *string:
		if *v == "" {
			return "empty"
		}
		return "`" + *v + "`"
	case *Duration:
		return "`" + formatDuration(v.D()) + "`"
	case *[]string:
		if len(*v) == 0 {
			return "none"
		}
		return "`" + strings.Join(*v, ",") + "`"
	}
	return ""
}

// formatDuration writes 2h rather than 2h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// variable is how a key's environment variable is shown in the docs.
func (k Key) variable() string {
	if k.kind == list {
		return fmt.Sprintf("`%s` (comma-separated)", k.Env)
	}
	return "`" + k.Env + "`"
}

// suggest is the candidate closest to s, if it is close enough to be a
// typo of it.
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

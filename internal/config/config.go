package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wxauth/wxauth/internal/ratelimit"
)

// App kinds (docs/api.md "Words").
const (
	KindMiniProgram     = "miniprogram"
	KindOfficialAccount = "official_account"
	KindWebsite         = "website"
)

// Registration policies.
const (
	RegistrationAuto      = "auto"
	RegistrationBindPhone = "bind_phone"
)

// Config is the whole configuration. Field comments name the YAML key and
// the environment variable that overrides it.
type Config struct {
	Addr        string `yaml:"addr"`         // WXAUTH_ADDR
	Issuer      string `yaml:"issuer"`       // WXAUTH_ISSUER
	Audience    string `yaml:"audience"`     // WXAUTH_AUDIENCE; empty: the issuer
	DatabaseURL string `yaml:"database_url"` // WXAUTH_DATABASE_URL (postgres://… or sqlite:PATH)
	RedisURL    string `yaml:"redis_url"`    // WXAUTH_REDIS_URL (empty: in-process store)
	WeChat      WeChat `yaml:"wechat"`
	Apps        []App  `yaml:"apps"`
	Tokens      Tokens `yaml:"tokens"`
	// Registration is auto or bind_phone. WXAUTH_REGISTRATION
	Registration string   `yaml:"registration"`
	Redirects    []string `yaml:"redirects"`    // WXAUTH_REDIRECTS (comma-separated)
	CORSOrigins  []string `yaml:"cors_origins"` // WXAUTH_CORS_ORIGINS (comma-separated)
	ServiceKeys  []string `yaml:"service_keys"` // WXAUTH_SERVICE_KEYS (comma-separated)
	// Secret (≥ 32 bytes) keys refresh tokens and encrypts secrets at rest.
	Secret   string `yaml:"secret"`    // WXAUTH_SECRET
	LogLevel string `yaml:"log_level"` // WXAUTH_LOG_LEVEL: debug, info, warn, error
	// TrustedProxyHeader names the header the load balancer puts the client
	// address in (X-Forwarded-For: its last entry; X-Real-IP: as is).
	// Empty: the connection's address. WXAUTH_TRUSTED_PROXY_HEADER
	TrustedProxyHeader string     `yaml:"trusted_proxy_header"`
	RateLimits         RateLimits `yaml:"rate_limits"`
	// KeyReload is how often instances reload the shared signing keys; a
	// new key signs after two reloads. WXAUTH_KEY_RELOAD
	KeyReload Duration `yaml:"key_reload"`
}

// RateLimits are attempt limits shared by all instances, each "N/window"
// (e.g. "300/1m") or "off".
type RateLimits struct {
	LoginPerIP        string `yaml:"login_per_ip"`        // WXAUTH_RATE_LOGIN_PER_IP
	LoginPerUser      string `yaml:"login_per_user"`      // WXAUTH_RATE_LOGIN_PER_USER
	RefreshPerIP      string `yaml:"refresh_per_ip"`      // WXAUTH_RATE_REFRESH_PER_IP
	RefreshPerSession string `yaml:"refresh_per_session"` // WXAUTH_RATE_REFRESH_PER_SESSION
	// SMS codes (docs/api.md "Binding"): per phone, and per client
	// address whatever the phone.
	SMSPerPhoneMinute string `yaml:"sms_per_phone_minute"` // WXAUTH_RATE_SMS_PER_PHONE_MINUTE
	SMSPerPhoneDay    string `yaml:"sms_per_phone_day"`    // WXAUTH_RATE_SMS_PER_PHONE_DAY
	SMSPerIPHour      string `yaml:"sms_per_ip_hour"`      // WXAUTH_RATE_SMS_PER_IP_HOUR
}

// Rules are the parsed rate limits (Validate reports bad ones).
func (r RateLimits) Rules() Rules {
	parse := func(name, v string) ratelimit.Rule {
		rule, _ := ratelimit.ParseRule(name, v)
		return rule
	}
	return Rules{
		LoginPerIP:        parse("login_ip", r.LoginPerIP),
		LoginPerUser:      parse("login_user", r.LoginPerUser),
		RefreshPerIP:      parse("refresh_ip", r.RefreshPerIP),
		RefreshPerSession: parse("refresh_session", r.RefreshPerSession),
		SMSPerPhoneMinute: parse("sms_phone_minute", r.SMSPerPhoneMinute),
		SMSPerPhoneDay:    parse("sms_phone_day", r.SMSPerPhoneDay),
		SMSPerIPHour:      parse("sms_ip_hour", r.SMSPerIPHour),
	}
}

// Rules are RateLimits parsed.
type Rules struct {
	LoginPerIP, LoginPerUser, RefreshPerIP, RefreshPerSession ratelimit.Rule
	SMSPerPhoneMinute, SMSPerPhoneDay, SMSPerIPHour           ratelimit.Rule
}

// WeChat says where WeChat's servers are (the sandbox in development).
type WeChat struct {
	APIBase  string   `yaml:"api_base"`  // WXAUTH_WECHAT_API_BASE
	OpenBase string   `yaml:"open_base"` // WXAUTH_WECHAT_OPEN_BASE
	Timeout  Duration `yaml:"timeout"`   // WXAUTH_WECHAT_TIMEOUT; 0: 5s
}

// App is one configured WeChat application. Its secret may come from
// WXAUTH_APP_<NAME>_SECRET instead of the file.
type App struct {
	Name   string `yaml:"name"`
	Kind   string `yaml:"kind"`
	AppID  string `yaml:"appid"`
	Secret string `yaml:"secret"`
}

// LogValue keeps the app secret out of logs.
func (a App) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", a.Name), slog.String("kind", a.Kind), slog.String("appid", a.AppID))
}

// Tokens are the lifetimes of docs/api.md "Token response".
type Tokens struct {
	AccessTTL     Duration `yaml:"access_ttl"`      // WXAUTH_ACCESS_TTL
	RefreshTTL    Duration `yaml:"refresh_ttl"`     // WXAUTH_REFRESH_TTL
	SessionMaxAge Duration `yaml:"session_max_age"` // WXAUTH_SESSION_MAX_AGE
	ReuseGrace    Duration `yaml:"reuse_grace"`     // WXAUTH_REUSE_GRACE
}

// Duration is a time.Duration written as "2h", "30s" in YAML and env.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 2h or 30s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults is the configuration before the file and the environment.
func Defaults() Config {
	return Config{
		Addr: "127.0.0.1:8080",
		WeChat: WeChat{
			APIBase:  "https://api.weixin.qq.com",
			OpenBase: "https://open.weixin.qq.com",
			Timeout:  Duration(5 * time.Second),
		},
		Tokens: Tokens{
			AccessTTL:     Duration(2 * time.Hour),
			RefreshTTL:    Duration(168 * time.Hour),
			SessionMaxAge: Duration(720 * time.Hour),
			ReuseGrace:    Duration(30 * time.Second),
		},
		Registration: RegistrationAuto,
		LogLevel:     "info",
		KeyReload:    Duration(15 * time.Second),
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
		},
	}
}

// ParseFile reads YAML from path over c. Unknown keys are errors, so a typo
// does not silently fall back to a default.
func (c *Config) ParseFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return c.Parse(b)
}

// Parse reads YAML over c.
func (c *Config) Parse(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// ApplyEnv overrides c with the WXAUTH_* variables that getenv finds.
func (c *Config) ApplyEnv(getenv func(string) (string, bool)) error {
	str := map[string]*string{
		"WXAUTH_ADDR":             &c.Addr,
		"WXAUTH_ISSUER":           &c.Issuer,
		"WXAUTH_AUDIENCE":         &c.Audience,
		"WXAUTH_DATABASE_URL":     &c.DatabaseURL,
		"WXAUTH_REDIS_URL":        &c.RedisURL,
		"WXAUTH_WECHAT_API_BASE":  &c.WeChat.APIBase,
		"WXAUTH_WECHAT_OPEN_BASE": &c.WeChat.OpenBase,
		"WXAUTH_REGISTRATION":     &c.Registration,
		"WXAUTH_SECRET":           &c.Secret,
		"WXAUTH_LOG_LEVEL":        &c.LogLevel,

		"WXAUTH_TRUSTED_PROXY_HEADER":     &c.TrustedProxyHeader,
		"WXAUTH_RATE_LOGIN_PER_IP":        &c.RateLimits.LoginPerIP,
		"WXAUTH_RATE_LOGIN_PER_USER":      &c.RateLimits.LoginPerUser,
		"WXAUTH_RATE_REFRESH_PER_IP":      &c.RateLimits.RefreshPerIP,
		"WXAUTH_RATE_REFRESH_PER_SESSION": &c.RateLimits.RefreshPerSession,

		"WXAUTH_RATE_SMS_PER_PHONE_MINUTE": &c.RateLimits.SMSPerPhoneMinute,
		"WXAUTH_RATE_SMS_PER_PHONE_DAY":    &c.RateLimits.SMSPerPhoneDay,
		"WXAUTH_RATE_SMS_PER_IP_HOUR":      &c.RateLimits.SMSPerIPHour,
	}
	for name, p := range str {
		if v, ok := getenv(name); ok {
			*p = v
		}
	}
	lists := map[string]*[]string{
		"WXAUTH_REDIRECTS":    &c.Redirects,
		"WXAUTH_CORS_ORIGINS": &c.CORSOrigins,
		"WXAUTH_SERVICE_KEYS": &c.ServiceKeys,
	}
	for name, p := range lists {
		if v, ok := getenv(name); ok {
			*p = splitList(v)
		}
	}
	durs := map[string]*Duration{
		"WXAUTH_ACCESS_TTL":      &c.Tokens.AccessTTL,
		"WXAUTH_REFRESH_TTL":     &c.Tokens.RefreshTTL,
		"WXAUTH_SESSION_MAX_AGE": &c.Tokens.SessionMaxAge,
		"WXAUTH_REUSE_GRACE":     &c.Tokens.ReuseGrace,
		"WXAUTH_WECHAT_TIMEOUT":  &c.WeChat.Timeout,
		"WXAUTH_KEY_RELOAD":      &c.KeyReload,
	}
	for name, p := range durs {
		if v, ok := getenv(name); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("config: %s: %q is not a duration like 2h or 30s", name, v)
			}
			*p = Duration(d)
		}
	}
	for i := range c.Apps {
		name := "WXAUTH_APP_" + strings.ToUpper(c.Apps[i].Name) + "_SECRET"
		if v, ok := getenv(name); ok {
			c.Apps[i].Secret = v
		}
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var appName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Validate checks c as a whole. needSecret is true in production, where the
// secret cannot be generated. Every problem names its key.
func (c *Config) Validate(needSecret bool) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: "+format, append([]any{key}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port", c.Addr)
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("issuer", "%q is not an http(s) URL", c.Issuer)
	}
	if c.DatabaseURL == "" {
		bad("database_url", "required (postgres://… or sqlite:PATH)")
	}
	for key, v := range map[string]string{"wechat.api_base": c.WeChat.APIBase, "wechat.open_base": c.WeChat.OpenBase} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(key, "%q is not an http(s) URL", v)
		}
	}
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
		switch a.Kind {
		case KindMiniProgram, KindOfficialAccount, KindWebsite:
		default:
			bad(key+".kind", "%q is not miniprogram, official_account or website", a.Kind)
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
	}
	for key, d := range map[string]Duration{"tokens.access_ttl": c.Tokens.AccessTTL, "tokens.refresh_ttl": c.Tokens.RefreshTTL, "tokens.session_max_age": c.Tokens.SessionMaxAge} {
		if d <= 0 {
			bad(key, "must be positive")
		}
	}
	if c.KeyReload < Duration(100*time.Millisecond) {
		bad("key_reload", "must be at least 100ms")
	}
	if c.Tokens.ReuseGrace < 0 {
		bad("tokens.reuse_grace", "must not be negative")
	}
	if c.Tokens.RefreshTTL > 0 && c.Tokens.AccessTTL > c.Tokens.RefreshTTL {
		bad("tokens.access_ttl", "%v is longer than tokens.refresh_ttl %v", c.Tokens.AccessTTL.D(), c.Tokens.RefreshTTL.D())
	}
	if c.Tokens.SessionMaxAge > 0 && c.Tokens.RefreshTTL > c.Tokens.SessionMaxAge {
		bad("tokens.refresh_ttl", "%v is longer than tokens.session_max_age %v", c.Tokens.RefreshTTL.D(), c.Tokens.SessionMaxAge.D())
	}
	switch c.Registration {
	case RegistrationAuto, RegistrationBindPhone:
	default:
		bad("registration", "%q is not auto or bind_phone", c.Registration)
	}
	for i, r := range c.Redirects {
		if u, err := url.Parse(r); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(fmt.Sprintf("redirects[%d]", i), "%q is not an http(s) URL prefix", r)
		}
	}
	for i, o := range c.CORSOrigins {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad(fmt.Sprintf("cors_origins[%d]", i), "%q is not an origin like https://app.example.com", o)
		}
	}
	for i, k := range c.ServiceKeys {
		if len(k) < 16 {
			bad(fmt.Sprintf("service_keys[%d]", i), "shorter than 16 characters")
		}
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
	for key, v := range map[string]string{
		"rate_limits.login_per_ip":         c.RateLimits.LoginPerIP,
		"rate_limits.login_per_user":       c.RateLimits.LoginPerUser,
		"rate_limits.refresh_per_ip":       c.RateLimits.RefreshPerIP,
		"rate_limits.refresh_per_session":  c.RateLimits.RefreshPerSession,
		"rate_limits.sms_per_phone_minute": c.RateLimits.SMSPerPhoneMinute,
		"rate_limits.sms_per_phone_day":    c.RateLimits.SMSPerPhoneDay,
		"rate_limits.sms_per_ip_hour":      c.RateLimits.SMSPerIPHour,
	} {
		if _, err := ratelimit.ParseRule(key, v); err != nil {
			bad(key, "%v", err)
		}
	}
	if h := c.TrustedProxyHeader; h != "" && http.CanonicalHeaderKey(h) != http.CanonicalHeaderKey(strings.TrimSpace(h)) {
		bad("trusted_proxy_header", "%q is not a header name", h)
	}
	return errors.Join(errs...)
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

// LogValue is what start-up logs of the configuration: no secrets, no
// connection-string passwords.
func (c *Config) LogValue() slog.Value {
	names := make([]string, len(c.Apps))
	for i, a := range c.Apps {
		names[i] = a.Name + "(" + a.Kind + ")"
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("issuer", c.Issuer),
		slog.String("database", redactURL(c.DatabaseURL)),
		slog.String("redis", redactURL(c.RedisURL)),
		slog.String("wechat_api", c.WeChat.APIBase),
		slog.Any("apps", names),
		slog.String("registration", c.Registration),
	)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

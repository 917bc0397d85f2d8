package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxauth/wxauth/internal/ratelimit"
)

const sample = `
addr: 0.0.0.0:9000
issuer: https://auth.example.com
database_url: sqlite:/var/lib/wxauth/wxauth.db
wechat:
  api_base: https://api.weixin.qq.com
apps:
  - {name: mp, kind: miniprogram, appid: wx1, secret: s1}
  - {name: oa, kind: official_account, appid: wx2}
tokens:
  access_ttl: 15m
  reuse_grace: 10s
redirects: ["https://app.example.com/"]
service_keys:
  - {name: billing, scopes: [introspect, revocations]}
`

func TestParseAndEnv(t *testing.T) {
	c := Defaults()
	if err := c.Parse([]byte(sample)); err != nil {
		t.Fatal(err)
	}
	env := Env{
		"WXAUTH_SECRET":              strings.Repeat("s", 32),
		"WXAUTH_APP_OA_SECRET":       "from-env",
		"WXAUTH_REFRESH_TTL":         "24h",
		"WXAUTH_CORS_ORIGINS":        "https://a.example.com, https://b.example.com",
		"WXAUTH_SERVICE_KEY_BILLING": "0123456789abcdef",
	}
	if err := c.ApplyEnv(env); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(true); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	if c.Addr != "0.0.0.0:9000" || c.Tokens.AccessTTL.D() != 15*time.Minute || c.Tokens.RefreshTTL.D() != 24*time.Hour ||
		c.Tokens.SessionMaxAge.D() != 720*time.Hour || c.Tokens.ReuseGrace.D() != 10*time.Second ||
		c.Apps[1].Secret != "from-env" || len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.example.com" ||
		c.WeChat.OpenBase != "https://open.weixin.qq.com" {
		t.Errorf("config = %+v", c)
	}
	wantKeys := []ServiceKey{{Name: "billing", Scopes: []string{"introspect", "revocations"}, Secret: "0123456789abcdef"}}
	if diff := cmp.Diff(wantKeys, c.ServiceKeys); diff != "" {
		t.Errorf("ServiceKeys (-want +got):\n%s", diff)
	}
	logged := c.LogValue().String()
	for _, secret := range []string{"s1", "from-env", strings.Repeat("s", 32), "0123456789abcdef"} {
		if strings.Contains(logged, secret) {
			t.Errorf("LogValue shows a secret: %s", logged)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, y := range map[string]string{
		"unknown key":  "adress: x\n",
		"bad duration": "tokens: {access_ttl: soon}\n",
		"bad type":     "apps: 3\n",
	} {
		c := Defaults()
		if err := c.Parse([]byte(y)); err == nil {
			t.Errorf("Parse(%s) succeeded", name)
		}
	}
	c := Defaults()
	if err := c.ApplyEnv(Env{"WXAUTH_ACCESS_TTL": "2 hours"}); err == nil || !strings.Contains(err.Error(), "WXAUTH_ACCESS_TTL") {
		t.Errorf("ApplyEnv(bad duration) = %v, want an error naming the variable", err)
	}
}

// The old form of service_keys, bare keys in the file or in
// WXAUTH_SERVICE_KEYS, stops start-up with the new form named; so does a
// secret in the file or for a key the file does not name.
func TestServiceKeysOldFormRefused(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        Env
		want       string
	}{
		{"bare key in the file", `service_keys: ["0123456789abcdef"]`, nil, "service_keys[0]: bare keys are no longer accepted"},
		{"bare keys in the environment", "", Env{"WXAUTH_SERVICE_KEYS": "0123456789abcdef"}, "WXAUTH_SERVICE_KEYS: bare keys are no longer accepted"},
		{"secret in the file", `service_keys: [{name: gw, scopes: [introspect], secret: "0123456789abcdef"}]`, nil, "service_keys[0].secret: not read from the file; set WXAUTH_SERVICE_KEY_GW"},
		{"secret of no key", `service_keys: [{name: gw, scopes: [introspect]}]`, Env{"WXAUTH_SERVICE_KEY_BILLING": "0123456789abcdef"}, `WXAUTH_SERVICE_KEY_BILLING: no service key "billing"`},
		{"typo", `service_keys: [{name: gw, scope: [introspect]}]`, nil, "service_keys[0].scope: unknown key; did you mean scopes?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			err := c.Parse([]byte(tc.yaml))
			if err == nil {
				err = c.ApplyEnv(tc.env)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse, ApplyEnv = %v, want %q", err, tc.want)
			}
			if strings.Contains(tc.want, "bare") && !strings.Contains(err.Error(), "WXAUTH_SERVICE_KEY_BILLING") {
				t.Errorf("error %q does not name the new form", err)
			}
		})
	}
}

// Every problem names its key, so an operator knows what to fix.
func TestValidateNamesTheKey(t *testing.T) {
	good := func() Config {
		c := Defaults()
		if err := c.Parse([]byte(sample)); err != nil {
			t.Fatal(err)
		}
		c.Apps[1].Secret = "s2"
		c.ServiceKeys[0].Secret = "0123456789abcdef"
		c.Secret = strings.Repeat("s", 32)
		return c
	}
	if c := good(); c.Validate(true) != nil {
		t.Fatalf("good config: %v", c.Validate(true))
	}
	for _, tc := range []struct {
		key  string
		edit func(*Config)
	}{
		{"addr", func(c *Config) { c.Addr = "nope" }},
		{"metrics_addr", func(c *Config) { c.MetricsAddr = "9464" }},
		{"issuer", func(c *Config) { c.Issuer = "auth.example.com" }},
		{"database_url", func(c *Config) { c.DatabaseURL = "" }},
		{"wechat.api_base", func(c *Config) { c.WeChat.APIBase = "ftp://x" }},
		{"wechat.api_base", func(c *Config) { c.WeChat.APIBase = "https://api.weixin.qq.com,ftp://x" }},
		{"wechat.api_base", func(c *Config) { c.WeChat.APIBase = " , " }},
		{"apps", func(c *Config) { c.Apps = nil }},
		{"apps[1].name", func(c *Config) { c.Apps[1].Name = "mp" }},
		{"apps[0].name", func(c *Config) { c.Apps[0].Name = "Mini Program" }},
		{"apps[0].kind", func(c *Config) { c.Apps[0].Kind = "app" }},
		{"apps[1].appid", func(c *Config) { c.Apps[1].AppID = "wx1" }},
		{"apps[0].secret", func(c *Config) { c.Apps[0].Secret = "" }},
		{"tokens.access_ttl", func(c *Config) { c.Tokens.AccessTTL = 0 }},
		{"tokens.access_ttl", func(c *Config) { c.Tokens.AccessTTL = Duration(200 * time.Hour) }},
		{"tokens.refresh_ttl", func(c *Config) { c.Tokens.RefreshTTL = Duration(1000 * time.Hour) }},
		{"tokens.reuse_grace", func(c *Config) { c.Tokens.ReuseGrace = -1 }},
		{"registration", func(c *Config) { c.Registration = "open" }},
		{"redirects[0]", func(c *Config) { c.Redirects = []string{"/relative"} }},
		{"cors_origins[0]", func(c *Config) { c.CORSOrigins = []string{"https://a.example.com/path"} }},
		{"service_keys[0].secret", func(c *Config) { c.ServiceKeys[0].Secret = "short" }},
		{"service_keys[0].secret", func(c *Config) { c.ServiceKeys[0].Secret = "" }},
		{"service_keys[0].name", func(c *Config) { c.ServiceKeys[0].Name = "Billing" }},
		{"service_keys[0].scopes", func(c *Config) { c.ServiceKeys[0].Scopes = nil }},
		{"service_keys[0].scopes[1]", func(c *Config) { c.ServiceKeys[0].Scopes[1] = "admin_everything" }},
		{"service_keys[1].name", func(c *Config) {
			c.ServiceKeys = append(c.ServiceKeys, ServiceKey{Name: "billing", Scopes: []string{"introspect"}, Secret: "fedcba9876543210"})
		}},
		{"service_keys[1].secret", func(c *Config) {
			c.ServiceKeys = append(c.ServiceKeys, ServiceKey{Name: "gw", Scopes: []string{"introspect"}, Secret: "0123456789abcdef"})
		}},
		{"secret", func(c *Config) { c.Secret = "" }},
		{"log_level", func(c *Config) { c.LogLevel = "loud" }},
		{"rate_limits.sms_per_phone_minute", func(c *Config) { c.RateLimits.SMSPerPhoneMinute = "1 per minute" }},
		{"rate_limits.sms_per_phone_day", func(c *Config) { c.RateLimits.SMSPerPhoneDay = "10/0s" }},
		{"rate_limits.sms_per_ip_hour", func(c *Config) { c.RateLimits.SMSPerIPHour = "-1/1h" }},
		{"sms.countries", func(c *Config) { c.SMS.Countries = nil }},
		{"sms.countries[1]", func(c *Config) { c.SMS.Countries = []string{"86", "+852"} }},
		{"sms.countries[0]", func(c *Config) { c.SMS.Countries = []string{"0086"} }},
		{"sms.daily_budget", func(c *Config) { c.SMS.DailyBudget = "off" }},
		{"sms.daily_budget", func(c *Config) { c.SMS.DailyBudget = "0" }},
		{"audit.enabled", func(c *Config) { c.Audit.Enabled = "yes" }},
		{"audit.retention", func(c *Config) { c.Audit.Retention = Duration(-time.Hour) }},
	} {
		c := good()
		tc.edit(&c)
		err := c.Validate(true)
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("Validate with bad %s = %v, want an error naming %q", tc.key, err, tc.key)
		}
	}
}

func TestFillDev(t *testing.T) {
	c := Defaults()
	c.FillDev("http://127.0.0.1:8080", "/tmp/d")
	if c.Issuer != "http://127.0.0.1:8080" || c.WeChat.APIBase != "http://127.0.0.1:8080/sandbox/api" ||
		c.DatabaseURL != "sqlite:/tmp/d/wxauth.db" || len(c.Apps) != 4 || c.Redirects[0] != "http://127.0.0.1:8080/" {
		t.Errorf("FillDev = %+v", c)
	}
	// What the environment set stays.
	c = Defaults()
	c.Issuer = "https://dev.example.com"
	c.WeChat.APIBase = "http://127.0.0.1:9090/sandbox/api"
	c.FillDev("http://127.0.0.1:8080", "/tmp/d")
	if c.Issuer != "https://dev.example.com" || c.WeChat.APIBase != "http://127.0.0.1:9090/sandbox/api" {
		t.Errorf("FillDev overrode the environment: %+v", c)
	}
}

// The SMS limits default to docs/api.md "Binding" and follow the
// environment.
func TestSMSLimits(t *testing.T) {
	c := Defaults()
	r := c.RateLimits.Rules()
	for _, tc := range []struct {
		name  string
		got   ratelimit.Rule
		limit int
		per   time.Duration
	}{
		{"sms_per_phone_minute", r.SMSPerPhoneMinute, 1, time.Minute},
		{"sms_per_phone_day", r.SMSPerPhoneDay, 10, 24 * time.Hour},
		{"sms_per_ip_hour", r.SMSPerIP, 30, time.Hour},
		{"authorize_per_ip", r.AuthorizePerIP, 300, time.Minute},
		{"qrlogin_per_ip", r.QRLoginPerIP, 1200, time.Minute},
	} {
		if tc.got.Limit != tc.limit || tc.got.Window != tc.per {
			t.Errorf("default %s = %v, want %d/%v", tc.name, tc.got, tc.limit, tc.per)
		}
	}
	env := Env{
		"WXAUTH_RATE_SMS_PER_PHONE_MINUTE": "2/1m",
		"WXAUTH_RATE_SMS_PER_PHONE_DAY":    "5/24h",
		"WXAUTH_RATE_SMS_PER_IP_HOUR":      "off",
	}
	if err := c.ApplyEnv(env); err != nil {
		t.Fatal(err)
	}
	r = c.RateLimits.Rules()
	if r.SMSPerPhoneMinute.Limit != 2 || r.SMSPerPhoneDay.Limit != 5 || r.SMSPerIP.Limit != 0 {
		t.Errorf("SMS rules after the environment = %v, %v, %v; want 2/1m, 5/24h, off", r.SMSPerPhoneMinute, r.SMSPerPhoneDay, r.SMSPerIP)
	}
}

func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"addr: a\naddr: b\n", "addr: given twice (first on line 1) (line 2)"},
		{"redirects: https://a.example.com/\n", "redirects: must be a list"},
		{"tokens: 2h\n", "tokens: must be a mapping of keys (line 1)"},
		{"tokens:\n  access_ttl: [1h]\n", "tokens.access_ttl: must be a single value"},
		{"apps: {name: mp}\n", "apps: must be a list"},
		{"apps:\n  - mp\n", "apps[0]: must be a mapping"},
		{"wechat:\n  timeout: soon\n", `wechat.timeout: "soon" is not a duration like 2h or 30s (line 2)`},
		{"- a\n- b\n", "(file): must be a mapping"},
		{"isuer: https://x\n", "isuer: unknown key; did you mean issuer? (line 1)"},
		{"ratelimits: {}\n", "ratelimits: unknown key; did you mean rate_limits?"},
		{"zzzzzzzz: 1\n", "zzzzzzzz: unknown key (line 1)"},
	} {
		c := Defaults()
		err := c.Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.yaml, err, tc.want)
		}
	}
	c := Defaults()
	if err := c.Parse(nil); err != nil {
		t.Errorf("Parse(empty) = %v", err)
	}
}

// A problem Validate finds in a value the file set names the file's line.
func TestValidateNamesTheLine(t *testing.T) {
	c := Defaults()
	if err := c.Parse([]byte("issuer: https://a.example.com\ndatabase_url: sqlite:x\napps:\n  - {name: mp, kind: app, appid: wx1, secret: s}\ntokens:\n  access_ttl: 0s\n")); err != nil {
		t.Fatal(err)
	}
	err := c.Validate(false)
	want := "config: 2 problems:\n  apps[0].kind: \"app\" is not miniprogram, official_account, website or mobile_app (line 4)\n  tokens.access_ttl: must be positive (line 6)"
	if err == nil || err.Error() != want {
		t.Errorf("Validate =\n%v\nwant\n%s", err, want)
	}
}

func TestValidateOnly(t *testing.T) {
	c := Defaults()
	c.DatabaseURL = "sqlite:x"
	if err := c.ValidateOnly("database_url"); err != nil {
		t.Errorf("ValidateOnly(database_url) with no apps and no secret = %v", err)
	}
	if err := c.ValidateOnly("database_url", "secret"); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("ValidateOnly(database_url, secret) = %v, want the secret named", err)
	}
}

func TestUnknownVariables(t *testing.T) {
	c := Defaults()
	c.Apps = []App{{Name: "mp"}}
	err := c.ApplyEnv(Env{"WXAUTH_LOGLEVEL": "debug", "WXAUTH_APP_WEB_SECRET": "x", "WXAUTH_APP_MP_SECRET": "y",
		"WXAUTH_TEST_X": "1", "HOME": "/root"})
	msg := fmt.Sprint(err)
	for _, want := range []string{"WXAUTH_LOGLEVEL: unknown variable; did you mean WXAUTH_LOG_LEVEL?", `WXAUTH_APP_WEB_SECRET: no app "web" is configured`} {
		if !strings.Contains(msg, want) {
			t.Errorf("ApplyEnv = %v, want %q", err, want)
		}
	}
	if c.Apps[0].Secret != "y" || strings.Contains(msg, "TEST") || strings.Contains(msg, "HOME") {
		t.Errorf("ApplyEnv = %v, secret %q", err, c.Apps[0].Secret)
	}
}

func TestAPIBases(t *testing.T) {
	for in, want := range map[string][]string{
		"https://api.weixin.qq.com":                               {"https://api.weixin.qq.com"},
		"https://api.weixin.qq.com, https://api2.weixin.qq.com ,": {"https://api.weixin.qq.com", "https://api2.weixin.qq.com"},
		"": nil,
	} {
		if got := (WeChat{APIBase: in}).APIBases(); !slices.Equal(got, want) {
			t.Errorf("APIBases(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Defaults().WeChat.APIBases(); len(got) != 2 || got[1] != "https://api2.weixin.qq.com" {
		t.Errorf("default api_base = %q, want api then api2", got)
	}
}

package config

import (
	"strings"
	"testing"
	"time"

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
service_keys: ["0123456789abcdef"]
`

func TestParseAndEnv(t *testing.T) {
	c := Defaults()
	if err := c.Parse([]byte(sample)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"WXAUTH_SECRET":        strings.Repeat("s", 32),
		"WXAUTH_APP_OA_SECRET": "from-env",
		"WXAUTH_REFRESH_TTL":   "24h",
		"WXAUTH_CORS_ORIGINS":  "https://a.example.com, https://b.example.com",
	}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
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
	if err := c.ApplyEnv(func(k string) (string, bool) { return "2 hours", k == "WXAUTH_ACCESS_TTL" }); err == nil || !strings.Contains(err.Error(), "WXAUTH_ACCESS_TTL") {
		t.Errorf("ApplyEnv(bad duration) = %v, want an error naming the variable", err)
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
		{"issuer", func(c *Config) { c.Issuer = "auth.example.com" }},
		{"database_url", func(c *Config) { c.DatabaseURL = "" }},
		{"wechat.api_base", func(c *Config) { c.WeChat.APIBase = "ftp://x" }},
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
		{"service_keys[0]", func(c *Config) { c.ServiceKeys = []string{"short"} }},
		{"secret", func(c *Config) { c.Secret = "" }},
		{"log_level", func(c *Config) { c.LogLevel = "loud" }},
		{"rate_limits.sms_per_phone_minute", func(c *Config) { c.RateLimits.SMSPerPhoneMinute = "1 per minute" }},
		{"rate_limits.sms_per_phone_day", func(c *Config) { c.RateLimits.SMSPerPhoneDay = "10/0s" }},
		{"rate_limits.sms_per_ip_hour", func(c *Config) { c.RateLimits.SMSPerIPHour = "-1/1h" }},
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
		c.DatabaseURL != "sqlite:/tmp/d/wxauth.db" || len(c.Apps) != 3 || c.Redirects[0] != "http://127.0.0.1:8080/" {
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
		{"sms_per_ip_hour", r.SMSPerIPHour, 30, time.Hour},
	} {
		if tc.got.Limit != tc.limit || tc.got.Window != tc.per {
			t.Errorf("default %s = %v, want %d/%v", tc.name, tc.got, tc.limit, tc.per)
		}
	}
	env := map[string]string{
		"WXAUTH_RATE_SMS_PER_PHONE_MINUTE": "2/1m",
		"WXAUTH_RATE_SMS_PER_PHONE_DAY":    "5/24h",
		"WXAUTH_RATE_SMS_PER_IP_HOUR":      "off",
	}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	r = c.RateLimits.Rules()
	if r.SMSPerPhoneMinute.Limit != 2 || r.SMSPerPhoneDay.Limit != 5 || r.SMSPerIPHour.Limit != 0 {
		t.Errorf("SMS rules after the environment = %v, %v, %v; want 2/1m, 5/24h, off", r.SMSPerPhoneMinute, r.SMSPerPhoneDay, r.SMSPerIPHour)
	}
}

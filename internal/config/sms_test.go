package config

import (
	"strings"
	"testing"
)

// The providers' credentials come from WXAUTH_SMS_* variables only: the
// variables are known keys, the same names in the file are not.
func TestSMSCredentialsFromEnvironmentOnly(t *testing.T) {
	c := Defaults()
	env := Env{
		"WXAUTH_SMS_PROVIDER": "tencent", "WXAUTH_SMS_SECRET_ID": "AKIDx", "WXAUTH_SMS_SECRET_KEY": "key",
		"WXAUTH_SMS_ACCESS_KEY_ID": "LTAIx", "WXAUTH_SMS_ACCESS_KEY_SECRET": "asecret", "WXAUTH_SMS_WEBHOOK_SECRET": "wsecret",
	}
	if err := c.ApplyEnv(env); err != nil {
		t.Fatalf("ApplyEnv = %v", err)
	}
	got := c.SMS
	if got.Provider != "tencent" || got.SecretID != "AKIDx" || got.SecretKey != "key" || got.AccessKeyID != "LTAIx" ||
		got.AccessKeySecret != "asecret" || got.WebhookSecret != "wsecret" {
		t.Errorf("SMS = %+v", got)
	}
	for _, k := range []string{"secret_key", "access_key_secret", "webhook_secret"} {
		c := Defaults()
		if err := c.Parse([]byte("sms:\n  " + k + ": x\n")); err == nil {
			t.Errorf("Parse(sms.%s in the file) succeeded", k)
		}
	}
	if s := c.LogValue().String(); strings.Contains(s, "key") || strings.Contains(s, "secret") {
		t.Errorf("LogValue = %s shows a credential", s)
	}
}

func TestValidateSMS(t *testing.T) {
	base := func() Config {
		c := Defaults()
		c.FillDev("http://127.0.0.1:8080", t.TempDir())
		c.Secret = strings.Repeat("s", 32)
		return c
	}
	for name, tc := range map[string]struct {
		edit       func(*Config)
		production bool
		want       string // empty: valid
	}{
		"dev without provider":              {func(c *Config) { c.Registration = RegistrationBindPhone }, false, ""},
		"serve auto without provider":       {func(c *Config) {}, true, ""},
		"serve bind_phone without provider": {func(c *Config) { c.Registration = RegistrationBindPhone }, true, "sms.provider: required with registration bind_phone"},
		"serve dev sender":                  {func(c *Config) { c.SMS.Provider = SMSDev }, true, "sms.provider: dev delivers only"},
		"unknown provider":                  {func(c *Config) { c.SMS.Provider = "twilio" }, false, `sms.provider: "twilio" is not`},
		"tencent without credentials":       {func(c *Config) { c.SMS = SMS{Provider: SMSTencent, AppID: "1400", Template: "1", SignName: "x"} }, true, "WXAUTH_SMS_SECRET_ID: required"},
		"tencent without app id": {func(c *Config) {
			c.SMS = SMS{Provider: SMSTencent, Template: "1", SignName: "x", SecretID: "a", SecretKey: "b"}
		}, true, "sms.app_id: required"},
		"tencent complete": {func(c *Config) {
			c.SMS = SMS{Provider: SMSTencent, AppID: "1400", Template: "1", SignName: "x", SecretID: "a", SecretKey: "b"}
		}, true, ""},
		"aliyun without secret": {func(c *Config) { c.SMS = SMS{Provider: SMSAliyun, Template: "SMS_1", SignName: "x", AccessKeyID: "a"} }, true, "WXAUTH_SMS_ACCESS_KEY_SECRET: required"},
		"aliyun complete": {func(c *Config) {
			c.SMS = SMS{Provider: SMSAliyun, Template: "SMS_1", SignName: "x", AccessKeyID: "a", AccessKeySecret: "b"}
		}, true, ""},
		"webhook short secret": {func(c *Config) {
			c.SMS = SMS{Provider: SMSWebhook, WebhookURL: "https://sms.example.com/send", WebhookSecret: "short"}
		}, true, "WXAUTH_SMS_WEBHOOK_SECRET: required"},
		"webhook over http in serve": {func(c *Config) {
			c.SMS = SMS{Provider: SMSWebhook, WebhookURL: "http://sms.example.com/send", WebhookSecret: strings.Repeat("w", 32)}
		}, true, "https only"},
		"webhook over http in dev": {func(c *Config) {
			c.SMS = SMS{Provider: SMSWebhook, WebhookURL: "http://127.0.0.1:9/send", WebhookSecret: strings.Repeat("w", 32)}
		}, false, ""},
		"webhook complete": {func(c *Config) {
			c.SMS = SMS{Provider: SMSWebhook, WebhookURL: "https://sms.example.com/send", WebhookSecret: strings.Repeat("w", 32)}
		}, true, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			if c.SMS.Countries == nil { // the edits set the provider's keys only
				d := Defaults()
				c.SMS.Countries, c.SMS.DailyBudget = d.SMS.Countries, d.SMS.DailyBudget
			}
			err := c.Validate(tc.production)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}
